//! Scenario files → validated [`Scenario`]s, or every problem found in them.
//!
//! A file is parsed with `toml_edit` (which keeps byte spans), then read key by key by
//! the schema below, through a `Reader` that records each unknown key, missing key,
//! wrong type and invalid value as a [`Diagnostic`] and carries on. Environment
//! references are interpolated in every string first. Request tables and their
//! templates are read by `request.rs`. Nothing here panics on input.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use toml_edit::ImDocument;

use super::diagnostic::{Diagnostic, Site, Source};
use super::env::Context;
use super::model::{
    Actionable, Expect, Level, RequestTemplate, Resource, RetryPolicy, Scenario, Setup,
    StockLocator, Strategy, StrategyKind, SustainedLimit, SyncMode, Target, TransitionTarget, Var,
    Workload, WorkloadKind,
};
use super::model::{BodyMatch, Locator};
use super::reader::{did_you_mean, Element, Field, KeySpec, Reader, Spanned, Table};
use super::request::{headers, locator, locator_text, request, Kind, Place};

const fn key(name: &'static str, example: &'static str) -> KeySpec {
    KeySpec { name, example }
}

const ROOT_KEYS: &[KeySpec] = &[
    key("name", r#"name = "notes-etag-stale-write""#),
    key(
        "description",
        r#"description = "Concurrent edits of a note""#,
    ),
    key("target", r#"target = "https://api.example.com""#),
    key("timeout", r#"timeout = "10s""#),
    key("sync", r#"sync = "last-byte""#),
    key(
        "headers",
        r#"headers = { Authorization = "Bearer ${API_TOKEN}" }"#,
    ),
    key("workload", r#"[workload] with kind = "stale-write""#),
    key(
        "resource",
        r#"[resource] with create = { path = "/notes", id = "header:Location" }, read = { path = "{id}" } and version = "header:ETag""#,
    ),
    key(
        "write",
        r#"[write] with method = "PUT", path = "{id}", headers = { "If-Match" = "{version}" } and json = { text = "{marker}" }"#,
    ),
    key(
        "expect",
        r#"[expect] with winner = [200, 204] and conflict = [412]"#,
    ),
    key(
        "thresholds",
        r#"thresholds = ["latency.winner.p99 < 50ms", "lost_updates == 0"]"#,
    ),
];

const WORKLOAD_KEYS: &[KeySpec] = &[
    key("kind", r#"kind = "stale-write""#),
    key("writers", "writers = 16"),
    key("rounds", "rounds = 50"),
    key("increments", "increments = 10"),
    key(
        "retry",
        r#"retry = { budget = 50, base = "1ms", max = "100ms" }"#,
    ),
    key(
        "strategies",
        r#"strategies = ["backoff", "immediate", { name = "give-up", budget = 3 }]"#,
    ),
    key("targets", r#"targets = ["cancelled", "shipped"]"#),
    key("units", "units = 3"),
    key("connections", "connections = 8"),
    key("resources", "resources = 4"),
    key("duration", r#"duration = "10s""#),
    key("requests", "requests = 10000"),
    key("rate", "rate = 500"),
];

/// The budget of the `give-up` strategy unless the file says.
const GIVE_UP_BUDGET: u32 = 3;

const STRATEGY_KEYS: &[KeySpec] = &[
    key("name", r#"name = "backoff""#),
    key("budget", "budget = 50"),
    key("base", r#"base = "1ms""#),
    key("max", r#"max = "100ms""#),
];

const TARGET_KEYS: &[KeySpec] = &[
    key("send", r#"send = "cancel""#),
    key("state", r#"state = "cancelled""#),
];

const ACTIONABLE_KEYS: &[KeySpec] = &[
    key("carries", r#"carries = ["header:ETag"]"#),
    key(
        "content_type",
        r#"content_type = ["application/problem+json"]"#,
    ),
    key("level", r#"level = "violation""#),
];

const RETRY_KEYS: &[KeySpec] = &[
    key("budget", "budget = 50"),
    key("base", r#"base = "1ms""#),
    key("max", r#"max = "100ms""#),
];

const RESOURCE_KEYS: &[KeySpec] = &[
    key(
        "create",
        r#"create = { path = "/notes", json = { text = "seed" }, id = "header:Location" }"#,
    ),
    key("id", r#"id = "/notes/42""#),
    key("read", r#"read = { path = "{id}" }"#),
    key("version", r#"version = "header:ETag""#),
    key("value", r#"value = "json:/count""#),
    key("state", r#"state = "json:/state""#),
    key("count", r#"count = "json:/count""#),
    key("remaining", r#"remaining = "json:/stock""#),
    key("claimed", r#"claimed = "json:/booked""#),
];

const CREATE_KEYS: &[KeySpec] = &[
    key("method", r#"method = "POST""#),
    key("path", r#"path = "/notes""#),
    key(
        "headers",
        r#"headers = { "Content-Type" = "application/json" }"#,
    ),
    key("query", r#"query = { draft = "true" }"#),
    key("json", r#"json = { text = "seed" }"#),
    key("body", r#"body = "seed""#),
    key("expect", "expect = [200, 201]"),
    key("id", r#"id = "header:Location""#),
];

const READ_KEYS: &[KeySpec] = &[
    key("method", r#"method = "GET""#),
    key("path", r#"path = "{id}""#),
    key("headers", r#"headers = { Accept = "application/json" }"#),
    key("query", r#"query = { fields = "all" }"#),
    key("json", r#"json = { id = "{id}" }"#),
    key("body", r#"body = "{id}""#),
];

const WRITE_KEYS: &[KeySpec] = &[
    key("method", r#"method = "PUT""#),
    key("path", r#"path = "{id}""#),
    key("headers", r#"headers = { "If-Match" = "{version}" }"#),
    key("query", r#"query = { rev = "{version}" }"#),
    key("json", r#"json = { text = "{marker}" }"#),
    key("body", r#"body = "{marker}""#),
];

const EXPECT_KEYS: &[KeySpec] = &[
    key("winner", "winner = [200, 204]"),
    key("conflict", "conflict = [412]"),
    key(
        "actionable",
        r#"actionable = { carries = ["header:ETag"], content_type = ["json"] }"#,
    ),
    key(
        "winner_when",
        r#"winner_when = { json = "/succeeded", equals = true }"#,
    ),
];

const WINNER_WHEN_KEYS: &[KeySpec] = &[
    key("json", r#"json = "/succeeded""#),
    key("equals", "equals = true"),
];

/// Keys that belong to exactly one table, and where: for unknown-key hints.
const KEY_HOMES: &[(&str, &str)] = &[
    ("name", "at the top level (above the first [section])"),
    (
        "description",
        "at the top level (above the first [section])",
    ),
    ("target", "at the top level (above the first [section])"),
    ("timeout", "at the top level (above the first [section])"),
    ("sync", "at the top level (above the first [section])"),
    ("kind", "in [workload]"),
    ("writers", "in [workload]"),
    ("rounds", "in [workload]"),
    ("increments", "in [workload]"),
    ("retry", "in [workload]"),
    ("strategies", "in [workload]"),
    ("targets", "in [workload]"),
    ("units", "in [workload]"),
    ("create", "in [resource]"),
    ("read", "in [resource]"),
    ("version", "in [resource]"),
    ("value", "in [resource]"),
    ("count", "in [resource]"),
    ("remaining", "in [resource]"),
    ("claimed", "in [resource]"),
    ("actionable", "in [expect]"),
    ("winner", "in [expect]"),
    ("conflict", "in [expect]"),
    ("winner_when", "in [expect]"),
];

const VERSION_HINT: &str = "send the version you read: headers = { \"If-Match\" = \"{version}\" } \
                            or json = { version = \"{version}\" }";

const MARKER_HINT: &str = "put {marker} in the body so the final state shows which writer won, \
                           e.g. json = { text = \"{marker}\" }";

const NEXT_HINT: &str = "write the incremented value: json = { count = \"{next}\" }";

/// Parses and validates one scenario file's text.
///
/// `file` names the file in diagnostics and gives the default name (its stem); `env`
/// looks up `${NAME}` references. Every problem in the file is returned, in file order.
pub fn parse_str(
    file: &Path,
    text: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Scenario, Vec<Diagnostic>> {
    parse_located(file, text, env).map(|(scenario, _)| scenario)
}

/// Reads and parses one scenario file, with the process environment.
pub fn load_file(path: &Path) -> Result<Scenario, Vec<Diagnostic>> {
    load_located(path).map(|(scenario, _)| scenario)
}

/// Expands directories recursively to their *.toml files (sorted), loads every file, and
/// returns ALL diagnostics of ALL files at once (never stops at the first). Duplicate
/// scenario names across files are an error. A path that does not exist, or a directory
/// with no .toml files, is an error.
pub fn load_paths(paths: &[PathBuf]) -> Result<Vec<Scenario>, Vec<Diagnostic>> {
    let mut diagnostics = Vec::new();
    let mut files = Vec::new();
    for path in paths {
        match std::fs::metadata(path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                diagnostics.push(Diagnostic::whole_file(
                    path,
                    "no such file or directory",
                    Some("give scenario files (*.toml) or directories that hold them".into()),
                ));
            }
            Err(e) => diagnostics.push(Diagnostic::whole_file(
                path,
                format!("cannot read: {e}"),
                None,
            )),
            Ok(meta) if meta.is_dir() => {
                let before = diagnostics.len();
                let mut found = Vec::new();
                let mut visited = HashSet::new();
                collect_toml_files(path, &mut found, &mut visited, &mut diagnostics);
                found.sort();
                if found.is_empty() && diagnostics.len() == before {
                    diagnostics.push(Diagnostic::whole_file(
                        path,
                        "no .toml files in this directory (or below it)",
                        Some("scenario files end in .toml".into()),
                    ));
                }
                files.extend(found);
            }
            Ok(_) => files.push(path.clone()),
        }
    }

    let mut loaded_files = HashSet::new();
    let mut names: HashMap<String, PathBuf> = HashMap::new();
    let mut scenarios = Vec::new();
    for file in files {
        let identity = std::fs::canonicalize(&file).unwrap_or_else(|_| file.clone());
        if !loaded_files.insert(identity) {
            continue;
        }
        match load_located(&file) {
            Ok((scenario, name_site)) => {
                if let Some(first) = names.get(&scenario.name) {
                    diagnostics.push(
                        name_site.diagnostic(
                            &file,
                            format!(
                                "duplicate scenario name `{}`: {} has the same name",
                                scenario.name,
                                first.display()
                            ),
                            Some(
                                "scenario names must be unique; set a different name = \"...\" \
                             in one of the files"
                                    .into(),
                            ),
                        ),
                    );
                } else {
                    names.insert(scenario.name.clone(), file.clone());
                }
                scenarios.push(scenario);
            }
            Err(mut found) => diagnostics.append(&mut found),
        }
    }
    if diagnostics.is_empty() {
        Ok(scenarios)
    } else {
        Err(diagnostics)
    }
}

/// Adds every *.toml file under `dir` to `found`, following symbolic links once.
fn collect_toml_files(
    dir: &Path,
    found: &mut Vec<PathBuf>,
    visited: &mut HashSet<PathBuf>,
    diagnostics: &mut Vec<Diagnostic>,
) {
    let identity = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    if !visited.insert(identity) {
        return;
    }
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) => {
            diagnostics.push(Diagnostic::whole_file(
                dir,
                format!("cannot list directory: {e}"),
                None,
            ));
            return;
        }
    };
    for entry in entries {
        let path = match entry {
            Ok(entry) => entry.path(),
            Err(e) => {
                diagnostics.push(Diagnostic::whole_file(
                    dir,
                    format!("cannot list directory: {e}"),
                    None,
                ));
                continue;
            }
        };
        if path.is_dir() {
            collect_toml_files(&path, found, visited, diagnostics);
        } else if path.is_file() && path.extension().is_some_and(|e| e == "toml") {
            found.push(path);
        }
    }
}

/// Reads and parses a file; also returns where its name is written, for duplicates.
fn load_located(path: &Path) -> Result<(Scenario, Site), Vec<Diagnostic>> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        let message = match e.kind() {
            std::io::ErrorKind::NotFound => "no such file".to_string(),
            std::io::ErrorKind::InvalidData => "the file is not valid UTF-8 text".to_string(),
            _ => format!("cannot read file: {e}"),
        };
        vec![Diagnostic::whole_file(path, message, None)]
    })?;
    parse_located(path, &text, &|name| std::env::var(name).ok())
}

fn parse_located(
    file: &Path,
    text: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(Scenario, Site), Vec<Diagnostic>> {
    let source = Source::new(file, text);
    let document = match ImDocument::parse(text) {
        Ok(document) => document,
        Err(e) => return Err(vec![syntax_error(&source, &e)]),
    };
    let mut reader = Reader::new(source, env);
    reader.homes = KEY_HOMES;
    let scenario = read_scenario(&mut reader, document.as_table());
    let mut diagnostics = std::mem::take(&mut reader.diagnostics);
    match scenario {
        Some(found) if diagnostics.is_empty() => Ok(found),
        _ => {
            if diagnostics.is_empty() {
                diagnostics.push(Diagnostic::whole_file(
                    file,
                    "internal error: the scenario is incomplete, but no problem was recorded",
                    Some("please report this with the file".into()),
                ));
            }
            for d in &mut diagnostics {
                redact(d, &reader.secrets);
            }
            diagnostics.sort_by_key(|d| (d.line, d.column));
            Err(diagnostics)
        }
    }
}

/// Replaces values from the environment in a diagnostic's text, so errors can be shown.
fn redact(diagnostic: &mut Diagnostic, secrets: &[String]) {
    for secret in secrets.iter().filter(|s| s.len() >= 4) {
        diagnostic.message = diagnostic.message.replace(secret.as_str(), "***");
        if let Some(hint) = &mut diagnostic.hint {
            *hint = hint.replace(secret.as_str(), "***");
        }
    }
}

/// A TOML syntax error as one diagnostic: its first line is the message, the rest
/// (what the parser expected) the hint.
fn syntax_error(source: &Source<'_>, error: &toml_edit::TomlError) -> Diagnostic {
    let mut lines = error
        .message()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty());
    let message = format!(
        "TOML syntax error: {}",
        lines.next().unwrap_or("invalid TOML")
    );
    let rest: Vec<&str> = lines.collect();
    let hint = (!rest.is_empty()).then(|| rest.join("; "));
    match error.span() {
        Some(span) => source.at(span.start, message, hint),
        None => Diagnostic::whole_file(source.file, message, hint),
    }
}

fn read_scenario(r: &mut Reader<'_>, root: &toml_edit::Table) -> Option<(Scenario, Site)> {
    let root = r.root(root, ROOT_KEYS);
    let (name, name_site) = scenario_name(r, &root);
    let description = root.field("description").map_or(Some(String::new()), |f| {
        r.string(&f, Context::Plain).map(|s| s.value)
    });
    let target = root
        .field("target")
        .map_or(Some(Target::Builtin), |f| target(r, &f));
    let timeout = root
        .field("timeout")
        .map_or(Some(Duration::from_secs(10)), |f| positive_duration(r, &f));
    let headers = root
        .field("headers")
        .map_or(Some(Vec::new()), |f| headers(r, &f, Place::Headers));
    let sync = root
        .field("sync")
        .map_or(Some(SyncMode::Barrier), |f| sync_mode(r, &f));
    let (kind, workload) = workload(r, &root);
    let (resource, facts) = resource(r, &root, kind);
    let write = write(r, &root, kind, facts);
    let expect = expect(r, &root, kind);
    let thresholds = root
        .field("thresholds")
        .and_then(|f| {
            super::thresholds::read(
                r,
                &f,
                kind.and_then(|k| super::WorkloadId::from_name(k.name())),
            )
        })
        .unwrap_or_default();

    let (
        Some(name),
        Some(description),
        Some(target),
        Some(timeout),
        Some(headers),
        Some(workload),
        Some(resource),
        Some(write),
        Some(expect),
        Some(sync),
    ) = (
        name,
        description,
        target,
        timeout,
        headers,
        workload,
        resource,
        write,
        expect,
        sync,
    )
    else {
        return None;
    };
    let scenario = Scenario {
        path: r.source.file.to_path_buf(),
        name,
        description,
        target,
        headers,
        workload,
        resource,
        write,
        expect,
        timeout,
        sync,
        secrets: r.secrets.clone(),
        thresholds,
    };
    Some((scenario, name_site))
}

/// `name`, or the file stem; and where it is written (the whole file for the stem).
fn scenario_name(r: &mut Reader<'_>, root: &Table<'_>) -> (Option<String>, Site) {
    if let Some(f) = root.field("name") {
        let site = r.source.site(f.at);
        let name = r.string(&f, Context::Plain).and_then(|s| {
            if is_valid_name(&s.value) {
                return Some(s.value);
            }
            r.error(
                s.at,
                format!("`{}` is not a valid scenario name", s.value),
                format!(
                    "names use letters, digits, `_`, `.` and `-`, e.g. name = \"{}\"",
                    sanitized_name(&s.value)
                ),
            );
            None
        });
        return (name, site);
    }
    let stem = r
        .source
        .file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    if is_valid_name(&stem) {
        return (Some(stem), Site::whole_file());
    }
    r.error_at_start(
        format!("the file name does not make a valid scenario name (`{stem}`)"),
        format!(
            "add name = \"{}\" (letters, digits, `_`, `.` and `-`) or rename the file",
            sanitized_name(&stem)
        ),
    );
    (None, Site::whole_file())
}

fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

fn sanitized_name(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '.') {
                c
            } else {
                '-'
            }
        })
        .collect();
    let cleaned = cleaned.trim_matches('-');
    if cleaned.is_empty() {
        "my-scenario".to_string()
    } else {
        cleaned.to_string()
    }
}

/// Reads `target`. An address from the environment is not a secret (reports show where
/// they ran), but a password in its user-info part is.
fn target(r: &mut Reader<'_>, f: &Field<'_>) -> Option<Target> {
    let known_secrets = r.secrets.len();
    let text = r.string(f, Context::Plain)?;
    r.secrets.truncate(known_secrets);
    let value = text.value.trim();
    if value == "builtin" {
        return Some(Target::Builtin);
    }
    let hint = "use \"builtin\" for the embedded reference server, or a base URL like \
                \"https://api.example.com\""
        .to_string();
    match url::Url::parse(value) {
        Ok(url) if matches!(url.scheme(), "http" | "https") => {
            if let Some(password) = url.password().filter(|p| !p.is_empty()) {
                r.secrets.push(password.to_string());
            }
            Some(Target::Url(url))
        }
        Ok(url) => {
            r.error(
                text.at,
                format!(
                    "target `{value}` uses the `{}` scheme; contend speaks http and https",
                    url.scheme()
                ),
                hint,
            );
            None
        }
        Err(e) => {
            r.error(
                text.at,
                format!("target `{value}` is neither `builtin` nor a URL: {e}"),
                hint,
            );
            None
        }
    }
}

/// `sync`: one of the [`SyncMode`] names.
fn sync_mode(r: &mut Reader<'_>, f: &Field<'_>) -> Option<SyncMode> {
    let text = r.string(f, Context::Plain)?;
    match text.value.parse::<SyncMode>() {
        Ok(mode) => Some(mode),
        Err(message) => {
            let names = SyncMode::ALL.map(SyncMode::name);
            let guess = did_you_mean(text.value.trim(), &names)
                .map(|g| format!("did you mean `{g}`? "))
                .unwrap_or_default();
            r.error(
                text.at,
                message,
                format!("{guess}for example: {}", f.example),
            );
            None
        }
    }
}

fn positive_duration(r: &mut Reader<'_>, f: &Field<'_>) -> Option<Duration> {
    let duration = r.duration(f)?;
    if duration.value.is_zero() {
        r.error(
            duration.at,
            format!("{} must be greater than zero", f.describe()),
            format!("for example: {}", f.example),
        );
        return None;
    }
    Some(duration.value)
}

/// "a, b and c": a list for messages.
fn list_and(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => (*one).to_string(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

fn kind_name(kind: Option<Kind>) -> &'static str {
    kind.map_or("this", Kind::name)
}

fn workload(r: &mut Reader<'_>, root: &Table<'_>) -> (Option<Kind>, Option<Workload>) {
    let Some(t) = r
        .required(root, "workload")
        .and_then(|f| r.table(&f, WORKLOAD_KEYS))
    else {
        return (None, None);
    };
    let kind = r
        .required(&t, "kind")
        .and_then(|f| r.string(&f, Context::Plain))
        .and_then(|s| {
            if let Some(kind) = Kind::from_name(&s.value) {
                return Some(kind);
            }
            let names: Vec<&str> = Kind::ALL.iter().map(|(_, n)| *n).collect();
            let guess = did_you_mean(&s.value, &names)
                .map(|g| format!("did you mean `{g}`? "))
                .unwrap_or_default();
            r.error(
                s.at,
                format!("unknown workload kind `{}`", s.value),
                format!("{guess}the kinds are {}", list_and(&names)),
            );
            None
        });
    let name = kind_name(kind);

    let min_writers = match kind {
        Some(Kind::Counter | Kind::PreconditionRequired | Kind::Sustained) | None => 1,
        Some(_) => 2,
    };
    let writers_field = t.field("writers");
    let writers = writers_field.as_ref().map_or(Some(16), |f| {
        let n = r.u32(f, 1, 4096)?;
        if n < min_writers {
            r.error(
                f.at,
                format!("{name} needs at least 2 writers to race, found {n}"),
                "for example: writers = 16".to_string(),
            );
            return None;
        }
        Some(n)
    });
    let sustained = sustained_keys(r, &t, kind);
    let rounds = match (kind, t.field("rounds")) {
        (Some(Kind::Sustained), Some(f)) => {
            r.error(
                f.key_at,
                "`rounds` is for stale-write workloads; a sustained workload runs for a \
                 `duration` or a number of `requests`",
                "write duration = \"10s\" or requests = N instead".to_string(),
            );
            None
        }
        (Some(Kind::Counter), Some(f)) => {
            r.error(
                f.key_at,
                "`rounds` is for stale-write workloads; a counter counts `increments` per writer",
                "write increments = N instead".to_string(),
            );
            None
        }
        (_, Some(f)) => r.u32(&f, 1, u32::MAX),
        (_, None) => Some(50),
    };
    let increments = match (kind, t.field("increments")) {
        (Some(k), Some(f)) if k != Kind::Counter => {
            r.error(
                f.key_at,
                format!("`increments` is for counter workloads; {name} runs `rounds`"),
                "write rounds = N instead".to_string(),
            );
            None
        }
        (_, Some(f)) => r.u32(&f, 1, u32::MAX),
        (_, None) => Some(10),
    };
    let retry = match (kind, t.field("retry")) {
        (Some(k), Some(f)) if k != Kind::Counter => {
            r.error(
                f.key_at,
                format!(
                    "`retry` is only used by counter workloads: a {name} round is one race, \
                     never retried"
                ),
                "remove `retry`".to_string(),
            );
            None
        }
        (_, Some(f)) => retry(r, &f),
        (_, None) => Some(RetryPolicy::default()),
    };
    let strategies = match (kind, t.field("strategies")) {
        (Some(k), Some(f)) if k != Kind::Counter => {
            r.error(
                f.key_at,
                format!(
                    "`strategies` are client strategies of counter workloads: a {name} round \
                     is one race, never retried"
                ),
                "remove `strategies`".to_string(),
            );
            None
        }
        (_, Some(f)) => retry.as_ref().and_then(|retry| strategies(r, &f, retry)),
        (_, None) => retry.as_ref().map(|retry| {
            vec![Strategy {
                kind: StrategyKind::Backoff,
                retry: retry.clone(),
            }]
        }),
    };
    let targets = match (kind, t.field("targets")) {
        (Some(Kind::Transition), None) => {
            r.required(&t, "targets");
            None
        }
        (Some(k), Some(f)) if k != Kind::Transition => {
            only_for(r, &f, "transition");
            None
        }
        (_, Some(f)) => targets(r, &f),
        (_, None) => Some(Vec::new()),
    };
    let units = match (kind, t.field("units")) {
        (Some(Kind::Stock), None) => {
            r.required(&t, "units");
            None
        }
        (Some(k), Some(f)) if k != Kind::Stock => {
            only_for(r, &f, "stock");
            None
        }
        (_, Some(f)) => {
            let units = r.u32(&f, 1, 1_000_000);
            match (units, writers) {
                (Some(units), Some(writers)) if units >= writers => {
                    r.error(
                        f.at,
                        format!(
                            "units = {units} leaves no race: a stock round needs more writers \
                             than units, and writers = {writers}"
                        ),
                        "raise writers or lower units, e.g. units = 3 with writers = 8".to_string(),
                    );
                    None
                }
                _ => units,
            }
        }
        (_, None) => Some(0),
    };

    let workload = match kind {
        Some(Kind::StaleWrite) => rounds.map(|rounds| (WorkloadKind::StaleWrite, rounds)),
        Some(Kind::Counter) => {
            increments
                .zip(retry)
                .zip(strategies)
                .map(|((increments, retry), strategies)| {
                    (WorkloadKind::Counter { retry, strategies }, increments)
                })
        }
        Some(Kind::UniqueCreate) => rounds.map(|rounds| (WorkloadKind::UniqueCreate, rounds)),
        Some(Kind::Transition) => rounds
            .zip(targets)
            .map(|(rounds, targets)| (WorkloadKind::Transition { targets }, rounds)),
        Some(Kind::Stock) => rounds
            .zip(units)
            .map(|(rounds, units)| (WorkloadKind::Stock { units }, rounds)),
        Some(Kind::Idempotency) => rounds.map(|rounds| (WorkloadKind::Idempotency, rounds)),
        Some(Kind::PreconditionRequired) => {
            rounds.map(|rounds| (WorkloadKind::PreconditionRequired, rounds))
        }
        Some(Kind::Sustained) => sustained.clone().map(|(kind, _)| (kind, 1)),
        None => None,
    };
    let writers = match (kind, sustained) {
        (Some(Kind::Sustained), Some((_, connections))) => Some(connections),
        _ => writers,
    };
    let workload = workload
        .zip(writers)
        .map(|((kind, rounds), writers)| Workload {
            kind,
            writers,
            rounds,
        });
    (kind, workload)
}

/// The `sustained` keys: `connections`, `resources`, `duration` or `requests`, and
/// `rate`. Returns the workload kind and the number of connections when `kind` is
/// sustained and they are valid; reports any of them on another kind.
fn sustained_keys(
    r: &mut Reader<'_>,
    t: &Table<'_>,
    kind: Option<Kind>,
) -> Option<(WorkloadKind, u32)> {
    let keys = ["connections", "resources", "duration", "requests", "rate"];
    if kind != Some(Kind::Sustained) {
        for key in keys {
            if let (Some(_), Some(f)) = (kind, t.field(key)) {
                only_for(r, &f, "sustained");
            }
        }
        return None;
    }
    if let Some(f) = t.field("writers") {
        r.error(
            f.key_at,
            "a sustained workload has `connections`, not `writers`",
            "write connections = N instead".to_string(),
        );
        return None;
    }
    let connections = t
        .field("connections")
        .map_or(Some(8), |f| r.u32(&f, 1, 4096));
    let resources = t
        .field("resources")
        .map_or(Some(1), |f| r.u32(&f, 1, 100_000));
    let rate = match t.field("rate") {
        Some(f) => r.u32(&f, 1, 10_000_000).map(Some),
        None => Some(None),
    };
    let limit = match (t.field("duration"), t.field("requests")) {
        (Some(_), Some(f)) => {
            r.error(
                f.key_at,
                "a sustained workload stops after a `duration` or a number of `requests`, \
                 not both",
                "keep one of them".to_string(),
            );
            None
        }
        (Some(f), None) => positive_duration(r, &f).map(SustainedLimit::Duration),
        (None, Some(f)) => r
            .u32(&f, 1, u32::MAX)
            .map(|n| SustainedLimit::Requests(u64::from(n))),
        (None, None) => {
            r.error_at_table(
                t,
                "a sustained workload needs `duration` or `requests`".to_string(),
                "for example: duration = \"10s\", or requests = 10000".to_string(),
            );
            None
        }
    };
    let (connections, resources, rate, limit) = (connections?, resources?, rate?, limit?);
    Some((
        WorkloadKind::Sustained {
            resources,
            limit,
            rate,
        },
        connections,
    ))
}

/// Reports a key that belongs to another workload kind.
fn only_for(r: &mut Reader<'_>, f: &Field<'_>, kinds: &str) {
    r.error(
        f.key_at,
        format!("`{}` is only used by {kinds} workloads", f.key),
        "remove it".to_string(),
    );
}

fn retry(r: &mut Reader<'_>, f: &Field<'_>) -> Option<RetryPolicy> {
    let t = r.table(f, RETRY_KEYS)?;
    let defaults = RetryPolicy::default();
    let budget = t
        .field("budget")
        .map_or(Some(defaults.budget), |f| r.u32(&f, 1, u32::MAX));
    let base_field = t.field("base");
    let max_field = t.field("max");
    let base = base_field
        .as_ref()
        .map_or(Some(defaults.base), |f| r.duration(f).map(|d| d.value));
    let max = max_field
        .as_ref()
        .map_or(Some(defaults.max), |f| r.duration(f).map(|d| d.value));
    let (budget, base, max) = (budget?, base?, max?);
    check_base_and_max(r, f.at, &base_field, &max_field, base, max)?;
    Some(RetryPolicy { budget, base, max })
}

/// Reports a backoff base larger than its ceiling.
fn check_base_and_max(
    r: &mut Reader<'_>,
    table_at: usize,
    base_field: &Option<Field<'_>>,
    max_field: &Option<Field<'_>>,
    base: Duration,
    max: Duration,
) -> Option<()> {
    if base <= max {
        return Some(());
    }
    let at = base_field
        .as_ref()
        .or(max_field.as_ref())
        .map_or(table_at, |f| f.at);
    let defaulted = |field: &Option<Field<'_>>| {
        if field.is_none() {
            " (the default)"
        } else {
            ""
        }
    };
    r.error(
        at,
        format!(
            "retry base {}{} is larger than max {}{}",
            humantime::format_duration(base),
            defaulted(base_field),
            humantime::format_duration(max),
            defaulted(max_field),
        ),
        "base is the first backoff ceiling and max the largest: make base <= max".to_string(),
    );
    None
}

/// `strategies = ["backoff", "immediate", { name = "give-up", budget = 3 }]`.
fn strategies(r: &mut Reader<'_>, f: &Field<'_>, retry: &RetryPolicy) -> Option<Vec<Strategy>> {
    let elements = r.elements(f, STRATEGY_KEYS, "strategy names or tables")?;
    if elements.is_empty() {
        r.error(
            f.at,
            format!("{} is empty: list at least one strategy", f.describe()),
            format!("for example: {}", f.example),
        );
        return None;
    }
    let names: Vec<&str> = StrategyKind::ALL.iter().map(|(_, n)| *n).collect();
    let mut out: Vec<Strategy> = Vec::new();
    let mut ok = true;
    for element in elements {
        let (name, table) = match element {
            Element::Text(text) => (text, None),
            Element::Table(table) => {
                match r
                    .required(&table, "name")
                    .and_then(|f| r.string(&f, Context::Plain))
                {
                    Some(name) => (name, Some(table)),
                    None => {
                        ok = false;
                        continue;
                    }
                }
            }
        };
        let Some(kind) = StrategyKind::ALL
            .iter()
            .find(|(_, n)| *n == name.value.trim())
            .map(|(k, _)| *k)
        else {
            let guess = did_you_mean(name.value.trim(), &names)
                .map(|g| format!("did you mean `{g}`? "))
                .unwrap_or_default();
            r.error(
                name.at,
                format!("unknown client strategy `{}`", name.value),
                format!("{guess}the strategies are {}", list_and(&names)),
            );
            ok = false;
            continue;
        };
        if out.iter().any(|s| s.kind == kind) {
            r.error(
                name.at,
                format!("strategy `{}` is listed twice", kind.name()),
                "list each strategy once".to_string(),
            );
            ok = false;
            continue;
        }
        let mut policy = RetryPolicy {
            budget: if kind == StrategyKind::GiveUp {
                GIVE_UP_BUDGET
            } else {
                retry.budget
            },
            ..retry.clone()
        };
        if let Some(t) = table {
            if let Some(f) = t.field("budget") {
                match r.u32(&f, 1, u32::MAX) {
                    Some(budget) => policy.budget = budget,
                    None => ok = false,
                }
            }
            let base_field = t.field("base");
            let max_field = t.field("max");
            for field in base_field.iter().chain(max_field.iter()) {
                if !kind.waits() {
                    r.error(
                        field.key_at,
                        format!(
                            "`{}` only applies to the backoff strategy; {} retries without waiting",
                            field.key,
                            kind.name()
                        ),
                        "remove it".to_string(),
                    );
                    ok = false;
                    continue;
                }
                match r.duration(field) {
                    Some(d) if field.key == "base" => policy.base = d.value,
                    Some(d) => policy.max = d.value,
                    None => ok = false,
                }
            }
            let at = t.at().unwrap_or(f.at);
            if check_base_and_max(r, at, &base_field, &max_field, policy.base, policy.max).is_none()
            {
                ok = false;
            }
        }
        out.push(Strategy {
            kind,
            retry: policy,
        });
    }
    ok.then_some(out)
}

/// `targets = ["cancelled", "shipped"]` or `[{ send = "cancel", state = "cancelled" }]`.
fn targets(r: &mut Reader<'_>, f: &Field<'_>) -> Option<Vec<TransitionTarget>> {
    let elements = r.elements(f, TARGET_KEYS, "target states or tables")?;
    if elements.is_empty() {
        r.error(
            f.at,
            format!("{} is empty: list at least one target", f.describe()),
            format!("for example: {}", f.example),
        );
        return None;
    }
    let mut out = Vec::new();
    let mut ok = true;
    for element in elements {
        let (send, state) = match element {
            Element::Text(text) => (Some(text.clone()), Some(text)),
            Element::Table(t) => {
                let send = r
                    .required(&t, "send")
                    .and_then(|f| r.string(&f, Context::Plain));
                let state = r
                    .required(&t, "state")
                    .and_then(|f| r.string(&f, Context::Plain));
                (send, state)
            }
        };
        let (Some(send), Some(state)) = (send, state) else {
            ok = false;
            continue;
        };
        if state.value.trim().is_empty() {
            r.error(
                state.at,
                "a target state is empty".to_string(),
                format!("for example: {}", f.example),
            );
            ok = false;
            continue;
        }
        out.push(TransitionTarget {
            send: send.value,
            state: state.value.trim().to_string(),
        });
    }
    ok.then_some(out)
}

/// Facts about `[resource]` that the other tables are checked against.
#[derive(Debug, Clone, Copy)]
struct ResourceFacts {
    /// `create` or `id` is given, so `{id}` has a value.
    has_setup: bool,
    /// `version` is given, so `{version}` has a value.
    has_version: bool,
}

fn resource(
    r: &mut Reader<'_>,
    root: &Table<'_>,
    kind: Option<Kind>,
) -> (Option<Resource>, Option<ResourceFacts>) {
    let Some(t) = r
        .required(root, "resource")
        .and_then(|f| r.table(&f, RESOURCE_KEYS))
    else {
        return (None, None);
    };
    let name = kind_name(kind);
    let create_field = t.field("create");
    let id_field = t.field("id");
    let create_has_id = create_field
        .as_ref()
        .and_then(|f| f.item.as_table_like())
        .is_some_and(|c| c.contains_key("id"));
    let facts = ResourceFacts {
        has_setup: create_field.is_some() || id_field.is_some(),
        has_version: t.field("version").is_some(),
    };
    let fresh_each_round = matches!(kind, Some(Kind::Transition | Kind::Stock));
    let optional = matches!(kind, Some(Kind::UniqueCreate | Kind::Idempotency));
    let one_of = "create one per run: create = { path = \"/notes\", id = \"header:Location\" }, \
                  use an existing one: id = \"/notes/42\", \
                  or create one at a known id: id = \"/dav/a.txt\" with create = { method = \"PUT\", path = \"{id}\" }";
    let fresh_hint = "create runs before every round, so each round starts from a fresh \
                      resource, e.g. create = { path = \"/orders\", json = { item = \"book\" }, \
                      id = \"header:Location\" }";
    let mut setup_ok = true;
    match (&create_field, &id_field) {
        (Some(_), Some(id)) if create_has_id => {
            setup_ok = false;
            r.error(
                id.key_at,
                "`id` is set both in [resource] and in its `create`",
                format!("choose one: {one_of}"),
            )
        }
        (None, Some(id)) if fresh_each_round => {
            setup_ok = false;
            r.error(
                id.key_at,
                format!(
                    "`id` names one resource, but every {name} round uses its resource up: \
                     [resource] needs `create`"
                ),
                fresh_hint.to_string(),
            )
        }
        (None, None) if fresh_each_round => {
            setup_ok = false;
            r.error_at_table(
                &t,
                format!("[resource] needs `create` in a {name} scenario"),
                fresh_hint.to_string(),
            )
        }
        (None, None) if !optional => {
            setup_ok = false;
            r.error_at_table(
                &t,
                "[resource] needs either `create` or `id`",
                one_of.to_string(),
            )
        }
        _ => {}
    }
    // Both are read even when they clash, so their own problems are reported too.
    let id_known = id_field.is_some() && !create_has_id;
    let existing = id_field.map(|f| existing_id(r, &f));
    let create = create_field.map(|f| create(r, &f, id_known, kind));
    let setup = match (create, existing) {
        _ if !setup_ok => None,
        (Some(Some((request, expect, Some(id)))), None) => Some(Setup::Create {
            request,
            expect,
            id,
        }),
        (Some(Some((request, expect, None))), Some(Some(Setup::Existing { id }))) => {
            Some(Setup::CreateAt {
                request,
                expect,
                id,
            })
        }
        (None, Some(existing)) => existing,
        (None, None) => Some(Setup::Nothing),
        _ => None,
    };

    let read_field = r.required(&t, "read");
    let read = read_field.as_ref().and_then(|f| {
        let table = r.table(f, READ_KEYS)?;
        let read = request(r, &table, Place::Read(kind), Some("GET"))?;
        let mut ok = true;
        if read.vars.contains(&Var::Id) && optional && !facts.has_setup {
            r.error(
                f.at,
                "[resource.read] uses `{id}`, but [resource] has neither `create` nor `id`",
                "read by this round's key instead, e.g. read = { path = \"/users\", query = \
                 { email = \"{unique}@example.com\" } }"
                    .to_string(),
            );
            ok = false;
        }
        if optional && !read.vars.contains(&Var::Unique) {
            r.error(
                f.at,
                format!(
                    "[resource.read] must find this round's key in a {name} scenario, but it \
                     never uses `{{unique}}`"
                ),
                "for example: read = { path = \"/users\", query = { email = \
                 \"{unique}@example.com\" } }"
                    .to_string(),
            );
            ok = false;
        }
        ok.then_some(read.template)
    });
    let version = match (kind, t.field("version")) {
        (_, Some(f)) => locator(r, &f).map(Some),
        (Some(Kind::StaleWrite | Kind::Counter | Kind::Sustained), None) => {
            r.required(&t, "version");
            None
        }
        (_, None) => Some(None),
    };
    let value = kind_locator(
        r,
        &t,
        "value",
        kind,
        &[Kind::Counter, Kind::Sustained],
        true,
    );
    let state = kind_locator(r, &t, "state", kind, &[Kind::Transition], true);
    let count = match kind {
        Some(Kind::Idempotency) => kind_locator(r, &t, "count", kind, &[Kind::Idempotency], true),
        _ => kind_locator(r, &t, "count", kind, &[Kind::UniqueCreate], false),
    };
    let remaining = kind_locator(r, &t, "remaining", kind, &[Kind::Stock], false);
    let claimed = kind_locator(r, &t, "claimed", kind, &[Kind::Stock], false);
    let stock = match (remaining, claimed) {
        (Some(Some(_)), Some(Some(_))) => {
            let at = t.field("claimed").map_or(0, |f| f.key_at);
            r.error(
                at,
                "`remaining` and `claimed` cannot both be set in [resource]",
                "keep one: remaining = \"json:/stock\" (units left) or claimed = \
                 \"json:/booked\" (units taken)"
                    .to_string(),
            );
            None
        }
        (Some(Some(left)), Some(None)) => Some(Some(StockLocator::Remaining(left))),
        (Some(None), Some(Some(taken))) => Some(Some(StockLocator::Claimed(taken))),
        (Some(None), Some(None)) if kind == Some(Kind::Stock) => {
            r.error_at_table(
                &t,
                "[resource] needs `remaining` or `claimed` in a stock scenario",
                "remaining = \"json:/stock\" (units left) or claimed = \"json:/booked\" (units \
                 taken, a number or a list)"
                    .to_string(),
            );
            None
        }
        (Some(None), Some(None)) => Some(None),
        _ => None,
    };
    let resource = (|| {
        Some(Resource {
            setup: setup?,
            read: read?,
            version: version?,
            value: value?,
            state: state?,
            count: count?,
            stock: stock?,
        })
    })();
    (resource, Some(facts))
}

/// A locator key that only some workload kinds use: read when it is theirs, reported
/// when it is not, and reported missing when `required` for them.
fn kind_locator(
    r: &mut Reader<'_>,
    t: &Table<'_>,
    key: &str,
    kind: Option<Kind>,
    kinds: &[Kind],
    required: bool,
) -> Option<Option<Locator>> {
    let theirs = kind.is_none_or(|k| kinds.contains(&k));
    match t.field(key) {
        Some(f) if theirs => locator(r, &f).map(Some),
        Some(f) => {
            let names: Vec<&str> = kinds.iter().map(|k| k.name()).collect();
            let hint = if key == "value" && kind == Some(Kind::StaleWrite) {
                "remove it: stale-write finds the winner by the {marker} in the final state"
            } else {
                "remove it"
            };
            r.error(
                f.key_at,
                format!("`{key}` is only used by {} workloads", list_and(&names)),
                hint.to_string(),
            );
            None
        }
        None if required && kind.is_some() && theirs => {
            r.required(t, key);
            None
        }
        None => Some(None),
    }
}

/// The create request, its expected statuses, and where the new resource's id is in the
/// answer; `id_known` when [resource] sets `id` (then create may use `{id}` and names no
/// locator).
fn create(
    r: &mut Reader<'_>,
    f: &Field<'_>,
    id_known: bool,
    kind: Option<Kind>,
) -> Option<(RequestTemplate, Vec<u16>, Option<Locator>)> {
    let t = r.table(f, CREATE_KEYS)?;
    let place = if id_known {
        Place::CreateAt(kind)
    } else {
        Place::Create(kind)
    };
    let request = request(r, &t, place, Some("POST"));
    let expect = t
        .field("expect")
        .map_or(Some(vec![200, 201]), |f| r.statuses(&f).map(|s| s.value));
    let id = if id_known {
        Some(None)
    } else {
        r.required(&t, "id").and_then(|f| locator(r, &f)).map(Some)
    };
    Some((request?.template, expect?, id?))
}

fn existing_id(r: &mut Reader<'_>, f: &Field<'_>) -> Option<Setup> {
    let id = r.string(f, Context::Plain)?;
    let value = id.value.trim();
    let is_url = url::Url::parse(value).is_ok_and(|u| matches!(u.scheme(), "http" | "https"));
    if !value.starts_with('/') && !is_url {
        r.error(
            id.at,
            format!("resource id `{value}` is neither a path nor an http(s) URL"),
            "write the path of the existing resource, e.g. id = \"/notes/42\"".to_string(),
        );
        return None;
    }
    Some(Setup::Existing {
        id: value.to_string(),
    })
}

fn write(
    r: &mut Reader<'_>,
    root: &Table<'_>,
    kind: Option<Kind>,
    facts: Option<ResourceFacts>,
) -> Option<RequestTemplate> {
    let t = r
        .required(root, "write")
        .and_then(|f| r.table(&f, WRITE_KEYS))?;
    let request = request(r, &t, Place::Write(kind), None)?;
    let body_at = request.body_at.or(t.at());
    let vars = &request.vars;
    let mut ok = true;
    let mut problem = |r: &mut Reader<'_>, message: String, hint: &str| {
        r.error_at_table(&t, message, hint.to_string());
        ok = false;
    };
    match kind {
        Some(Kind::StaleWrite | Kind::Counter | Kind::Sustained)
            if !vars.contains(&Var::Version) =>
        {
            problem(
            r,
            "[write] never sends `{version}`, so the API cannot tell a stale write from a fresh one"
                .to_string(),
            VERSION_HINT,
        )
        }
        Some(Kind::PreconditionRequired) if vars.contains(&Var::Version) => problem(
            r,
            "[write] sends `{version}`, but a precondition-required write must be unconditional"
                .to_string(),
            "remove the If-Match header (or the version field): contend checks that the API \
             refuses the write without it",
        ),
        Some(_) if vars.contains(&Var::Version) && facts.is_some_and(|f| !f.has_version) => {
            problem(
                r,
                "[write] sends `{version}`, but [resource] has no `version` to read it from"
                    .to_string(),
                "add version = \"header:ETag\" (or \"json:/version\") to [resource]",
            )
        }
        _ => {}
    }
    if matches!(kind, Some(Kind::UniqueCreate | Kind::Idempotency)) {
        if !vars.contains(&Var::Unique) {
            let what = if kind == Some(Kind::Idempotency) {
                "idempotency key"
            } else {
                "unique key"
            };
            problem(
                r,
                format!(
                    "[write] never uses `{{unique}}`, so every round would send the same {what} \
                     and only the first round could succeed"
                ),
                if kind == Some(Kind::Idempotency) {
                    "for example: headers = { \"Idempotency-Key\" = \"{unique}\" }"
                } else {
                    "for example: json = { email = \"{unique}@example.com\" }"
                },
            );
        }
        if vars.contains(&Var::Id) && facts.is_some_and(|f| !f.has_setup) {
            problem(
                r,
                "[write] uses `{id}`, but [resource] has neither `create` nor `id`".to_string(),
                "add create = { ... } (it runs once) or id = \"/path\" to [resource], or write \
                 the path itself",
            );
        }
    }
    if kind == Some(Kind::Transition) && !vars.contains(&Var::Target) {
        problem(
            r,
            "[write] never sends `{target}`, so the writers' targets would not reach the API"
                .to_string(),
            "for example: json = { to = \"{target}\" }, or path = \"{id}/{target}\"",
        );
    }
    if kind == Some(Kind::Idempotency) {
        let varying: Vec<String> = [Var::Writer, Var::Marker]
            .into_iter()
            .filter(|v| request.body_vars.contains(v))
            .map(|v| format!("`{{{}}}`", v.name()))
            .collect();
        if !varying.is_empty() {
            let message = format!(
                "the writers' requests must be identical in an idempotency scenario, but {} in \
                 the body makes each payload different (an API answers that with 422)",
                varying.join(" and ")
            );
            let hint = "keep {writer} and {marker} out of the body; headers may carry them";
            match body_at {
                Some(at) => r.error(at, message, hint.to_string()),
                None => r.error_at_table(&t, message, hint.to_string()),
            }
            ok = false;
        }
    }
    let (needed, message, hint) = match kind {
        Some(Kind::StaleWrite) => (
            Var::Marker,
            "the [write] body must contain `{marker}` in a stale-write scenario",
            MARKER_HINT,
        ),
        Some(Kind::Counter) => (
            Var::Next,
            "the [write] body must contain `{next}` (the value read plus one) in a counter scenario",
            NEXT_HINT,
        ),
        Some(Kind::Sustained) => (
            Var::Next,
            "the [write] body must contain `{next}` (the value read plus one) in a sustained \
             scenario: each resource's counter is what proves no write was lost",
            NEXT_HINT,
        ),
        _ => return ok.then_some(request.template),
    };
    if !request.body_vars.contains(&needed) {
        match body_at {
            Some(at) => r.error(at, message, hint.to_string()),
            None => r.error_at_table(&t, message, hint.to_string()),
        }
        ok = false;
    }
    ok.then_some(request.template)
}

fn expect(r: &mut Reader<'_>, root: &Table<'_>, kind: Option<Kind>) -> Option<Expect> {
    let unconditional = kind == Some(Kind::PreconditionRequired);
    if unconditional && root.field("expect").is_none() {
        return Some(Expect {
            winner: (200..300).collect(),
            conflict: vec![428],
            actionable: None,
            winner_when: None,
        });
    }
    let t = r
        .required(root, "expect")
        .and_then(|f| r.table(&f, EXPECT_KEYS))?;
    let winner = match (unconditional, t.field("winner")) {
        (true, Some(f)) => {
            r.error(
                f.key_at,
                "a precondition-required scenario has no winner: every unconditional write must \
                 be refused",
                "remove `winner`; a 2xx answer is reported as precondition_not_required"
                    .to_string(),
            );
            None
        }
        (true, None) => Some(Spanned {
            value: (200..300).collect(),
            at: 0,
        }),
        (false, _) => r.required(&t, "winner").and_then(|f| r.statuses(&f)),
    };
    let conflict = match (unconditional, t.field("conflict")) {
        (true, None) => Some(Spanned {
            value: vec![428],
            at: 0,
        }),
        (_, Some(f)) => r.statuses(&f),
        (false, None) => r.required(&t, "conflict").and_then(|f| r.statuses(&f)),
    };
    let actionable = t
        .field("actionable")
        .map_or(Some(None), |f| actionable(r, &f).map(Some));
    let winner_when = t
        .field("winner_when")
        .map_or(Some(None), |f| winner_when(r, &f).map(Some));
    let (winner, conflict, actionable, winner_when) =
        (winner?, conflict?, actionable?, winner_when?);
    let both: Vec<String> = conflict
        .value
        .iter()
        .filter(|c| winner.value.contains(c))
        .map(u16::to_string)
        .collect();
    if !both.is_empty() && winner_when.is_none() {
        r.error(
            conflict.at,
            format!(
                "status {} is listed as both a winner and a conflict",
                both.join(", ")
            ),
            "a status can mean only one outcome: remove it from one of the lists, or, when the \
             API answers both with it and its body tells them apart, add \
             winner_when = { json = \"/succeeded\", equals = true }"
                .to_string(),
        );
        return None;
    }
    Some(Expect {
        winner: winner.value,
        conflict: conflict.value,
        actionable,
        winner_when,
    })
}

/// `winner_when = { json = "/pointer", equals = VALUE }`.
fn winner_when(r: &mut Reader<'_>, f: &Field<'_>) -> Option<BodyMatch> {
    let t = r.table(f, WINNER_WHEN_KEYS)?;
    let pointer = r.required(&t, "json").and_then(|f| {
        let text = r.string(&f, Context::Plain)?;
        let pointer = text.value.trim();
        if pointer.is_empty() || pointer.starts_with('/') {
            return Some(pointer.to_string());
        }
        r.error(
            text.at,
            format!("JSON pointer `{pointer}` must be empty or start with `/`"),
            format!("write json = \"/{pointer}\""),
        );
        None
    });
    let equals = r
        .required(&t, "equals")
        .and_then(|f| r.json(&f))
        .map(|(json, _)| json);
    Some(BodyMatch {
        pointer: pointer?,
        equals: equals?,
    })
}

/// `[expect.actionable]`: what every conflict answer must carry.
fn actionable(r: &mut Reader<'_>, f: &Field<'_>) -> Option<Actionable> {
    let t = r.table(f, ACTIONABLE_KEYS)?;
    let carries = t.field("carries").map_or(Some(Vec::new()), |f| {
        let elements = r.elements(&f, &[], "locators like \"header:ETag\"")?;
        let found: Vec<Option<Locator>> = elements
            .into_iter()
            .map(|e| match e {
                Element::Text(text) => locator_text(r, &text, &f.describe()),
                Element::Table(_) => None,
            })
            .collect();
        found.into_iter().collect::<Option<Vec<_>>>()
    });
    let content_types = t.field("content_type").map_or(Some(Vec::new()), |f| {
        let elements = r.elements(&f, &[], "media types like \"application/problem+json\"")?;
        let mut out = Vec::new();
        let mut ok = true;
        for e in elements {
            let Element::Text(text) = e else {
                ok = false;
                continue;
            };
            let value = text.value.trim().to_ascii_lowercase();
            let valid = value == "json"
                || value
                    .split_once('/')
                    .is_some_and(|(a, b)| is_media_token(a) && is_media_token(b));
            if valid {
                out.push(value);
            } else {
                r.error(
                    text.at,
                    format!("`{}` is not a media type", text.value),
                    "write a type/subtype such as \"application/problem+json\", or \"json\" for \
                     application/json and every +json type"
                        .to_string(),
                );
                ok = false;
            }
        }
        ok.then_some(out)
    });
    let level = t.field("level").map_or(Some(Level::Violation), |f| {
        let text = r.string(&f, Context::Plain)?;
        match text.value.trim() {
            "violation" => Some(Level::Violation),
            "warning" => Some(Level::Warning),
            other => {
                r.error(
                    text.at,
                    format!("unknown level `{other}` for {}", f.describe()),
                    "write level = \"violation\" (fails the scenario) or level = \"warning\""
                        .to_string(),
                );
                None
            }
        }
    });
    let (carries, content_types, level) = (carries?, content_types?, level?);
    if carries.is_empty() && content_types.is_empty() {
        r.error_at_table(
            &t,
            format!("{} asks for nothing", f.describe()),
            "list what a conflict answer must carry: carries = [\"header:ETag\"] and/or \
             content_type = [\"application/problem+json\"]"
                .to_string(),
        );
        return None;
    }
    Some(Actionable {
        carries,
        content_types,
        level,
    })
}

fn is_media_token(text: &str) -> bool {
    !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "!#$&-^_.+".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::model::{Body, Locator, Template};
    use serde_json::json;

    /// The spec's stale-write example: sections with inline sub-tables.
    const STALE_WRITE: &str = r#"name = "notes-etag-stale-write"
description = "Concurrent edits of one note"
target = "https://api.example.com/v1/"
timeout = "2s"
headers = { Authorization = "Bearer token" }

[workload]
kind = "stale-write"
writers = 32
rounds = 200

[resource]
create = { method = "post", path = "/notes", json = { text = "seed" }, expect = [201], id = "header:Location" }
read = { path = "{id}" }
version = "header:ETag"

[write]
method = "PUT"
path = "{id}"
headers = { "If-Match" = "{version}" }
json = { text = "{marker}", by = "{writer}", round = "{round}", tags = ["a", 1, true] }

[expect]
winner = [200, 204]
conflict = [412]
"#;

    /// A counter scenario written entirely in `[table]` form.
    const COUNTER: &str = r#"[workload]
kind = "counter"
writers = 8
increments = 20

[workload.retry]
budget = 5
base = "2ms"
max = "1s"

[resource]
id = "/counters/1"
version = "json:/version"
value = "json:/count"

[resource.read]
method = "get"
path = "{id}"

[write]
method = "PATCH"
path = "{id}"

[write.query]
rev = "{version}"

[write.json]
count = "{next}"

[expect]
winner = [200]
conflict = [409, 412]
"#;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    fn parse(text: &str) -> Result<Scenario, Vec<Diagnostic>> {
        parse_str(Path::new("scenarios/test.toml"), text, &no_env)
    }

    fn errors(text: &str) -> Vec<Diagnostic> {
        match parse(text) {
            Ok(s) => panic!("expected errors, parsed {}", s.name),
            Err(errors) => errors,
        }
    }

    /// The only diagnostic for `text`.
    fn only_error(text: &str) -> Diagnostic {
        let errors = errors(text);
        assert_eq!(errors.len(), 1, "expected one error: {errors:#?}");
        errors.into_iter().next().unwrap_or_else(|| unreachable!())
    }

    fn position_of(text: &str, needle: &str) -> (usize, usize) {
        let offset = text.find(needle).expect("needle in text");
        let before = &text[..offset];
        let line = before.matches('\n').count() + 1;
        let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
        (line, column)
    }

    fn at(d: &Diagnostic) -> (usize, usize) {
        (d.line, d.column)
    }

    fn rendered(t: &Template) -> String {
        t.render(&crate::scenario::Vars {
            id: Some("/notes/1".into()),
            version: Some(json!("v7")),
            ..Default::default()
        })
    }

    #[test]
    fn a_full_stale_write_file_with_inline_tables_parses_into_the_model() {
        let s = parse(STALE_WRITE).expect("valid");
        assert_eq!(s.name, "notes-etag-stale-write");
        assert_eq!(s.description, "Concurrent edits of one note");
        assert_eq!(s.path, Path::new("scenarios/test.toml"));
        assert_eq!(
            s.target,
            Target::Url(url::Url::parse("https://api.example.com/v1/").unwrap())
        );
        assert_eq!(s.timeout, Duration::from_secs(2));
        assert_eq!(s.headers.len(), 1);
        assert_eq!(s.headers[0].0, "Authorization");
        assert_eq!(s.headers[0].1, Template::literal("Bearer token"));
        assert_eq!(s.workload.kind, WorkloadKind::StaleWrite);
        assert_eq!((s.workload.writers, s.workload.rounds), (32, 200));

        let Setup::Create {
            request,
            expect,
            id,
        } = &s.resource.setup
        else {
            panic!("expected Setup::Create, got {:?}", s.resource.setup);
        };
        assert_eq!(request.method, "POST", "methods are upper-cased");
        assert_eq!(rendered(&request.path), "/notes");
        assert!(matches!(&request.body, Body::Json(j) if *j == json!({"text": "seed"})));
        assert_eq!(expect, &vec![201]);
        assert_eq!(id, &Locator::Header("Location".into()));

        assert_eq!(s.resource.read.method, "GET", "read method defaults to GET");
        assert_eq!(rendered(&s.resource.read.path), "/notes/1");
        assert_eq!(s.resource.version, Some(Locator::Header("ETag".into())));
        assert_eq!(s.resource.value, None);

        assert_eq!(s.write.method, "PUT");
        assert_eq!(s.write.headers[0].0, "If-Match");
        assert_eq!(rendered(&s.write.headers[0].1), "v7");
        let Body::Json(body) = &s.write.body else {
            panic!("expected a JSON body, got {:?}", s.write.body);
        };
        assert_eq!(
            body,
            &json!({"text": "{marker}", "by": "{writer}", "round": "{round}", "tags": ["a", 1, true]})
        );
        assert_eq!(s.expect.winner, vec![200, 204]);
        assert_eq!(s.expect.conflict, vec![412]);
        assert!(s.secrets.is_empty());
    }

    #[test]
    fn a_counter_file_in_table_form_parses_into_the_model() {
        let s = parse(COUNTER).expect("valid");
        assert_eq!(s.name, "test", "the name defaults to the file stem");
        assert_eq!(
            s.workload.kind,
            WorkloadKind::Counter {
                retry: RetryPolicy {
                    budget: 5,
                    base: Duration::from_millis(2),
                    max: Duration::from_secs(1),
                },
                strategies: vec![Strategy {
                    kind: StrategyKind::Backoff,
                    retry: RetryPolicy {
                        budget: 5,
                        base: Duration::from_millis(2),
                        max: Duration::from_secs(1),
                    },
                }],
            }
        );
        assert_eq!(
            (s.workload.writers, s.workload.rounds),
            (8, 20),
            "increments become Workload.rounds"
        );
        assert_eq!(s.resource.read.method, "GET");
        assert_eq!(s.resource.version, Some(Locator::Json("/version".into())));
        assert_eq!(s.resource.value, Some(Locator::Json("/count".into())));
        assert_eq!(s.write.method, "PATCH");
        assert_eq!(s.write.query.len(), 1);
        assert_eq!(s.write.query[0].0, "rev");
        assert!(matches!(&s.write.body, Body::Json(j) if *j == json!({"count": "{next}"})));
        assert_eq!(s.expect.conflict, vec![409, 412]);
    }

    #[test]
    fn an_existing_resource_id_gives_setup_existing() {
        let s = parse(COUNTER).expect("valid");
        assert!(
            matches!(&s.resource.setup, Setup::Existing { id } if id == "/counters/1"),
            "{:?}",
            s.resource.setup
        );
    }

    #[test]
    fn optional_keys_take_their_defaults() {
        let text = r#"
[workload]
kind = "stale-write"
[resource]
create = { path = "/notes", id = "json:/id" }
read = { path = "{id}" }
version = "json:"
[write]
method = "PUT"
path = "{id}"
body = "{version} {marker}"
[expect]
winner = [200]
conflict = [409]
"#;
        let s = parse(text).expect("valid");
        assert_eq!(s.name, "test");
        assert_eq!(s.description, "");
        assert_eq!(s.target, Target::Builtin);
        assert_eq!(s.timeout, Duration::from_secs(10));
        assert_eq!(s.sync, SyncMode::Barrier);
        assert!(s.headers.is_empty());
        assert_eq!((s.workload.writers, s.workload.rounds), (16, 50));
        let Setup::Create {
            request, expect, ..
        } = &s.resource.setup
        else {
            panic!("expected Setup::Create");
        };
        assert_eq!(request.method, "POST");
        assert_eq!(expect, &vec![200, 201]);
        assert!(matches!(request.body, Body::None));
        assert_eq!(s.resource.version, Some(Locator::Json(String::new())));
        assert!(matches!(&s.write.body, Body::Text(_)));

        let counter = text
            .replace("stale-write", "counter")
            .replace(
                "version = \"json:\"",
                "version = \"json:\"\nvalue = \"json:/n\"",
            )
            .replace("{marker}", "{next}");
        let c = parse(&counter).expect("valid counter");
        assert_eq!(
            c.workload.kind,
            WorkloadKind::Counter {
                retry: RetryPolicy::default(),
                strategies: vec![Strategy {
                    kind: StrategyKind::Backoff,
                    retry: RetryPolicy::default(),
                }],
            }
        );
        assert_eq!(c.workload.rounds, 10, "increments default to 10");
    }

    #[test]
    fn environment_references_are_interpolated_and_their_values_kept_as_secrets() {
        let text = STALE_WRITE
            .replace(
                "target = \"https://api.example.com/v1/\"",
                "target = \"${CONTEND_TARGET:-builtin}\"",
            )
            .replace("Bearer token", "Bearer ${API_TOKEN}")
            .replace(
                "description = \"Concurrent edits of one note\"",
                "description = \"costs $$5 ${UNSET:-or less}\"",
            );
        let env = |name: &str| match name {
            "API_TOKEN" => Some("t0k3n{x}".to_string()),
            _ => None,
        };
        let s = parse_str(Path::new("a.toml"), &text, &env).expect("valid");
        assert_eq!(s.target, Target::Builtin, "the default applies when unset");
        assert_eq!(s.description, "costs $5 or less");
        assert_eq!(
            rendered(&s.headers[0].1),
            "Bearer t0k3n{x}",
            "braces from the environment are data, not placeholders"
        );
        assert_eq!(s.secrets, vec!["t0k3n{x}".to_string()]);

        let env =
            |name: &str| (name == "CONTEND_TARGET").then(|| "http://localhost:8080".to_string());
        let text = text.replace("${API_TOKEN}", "${API_TOKEN:-}");
        let s = parse_str(Path::new("a.toml"), &text, &env).expect("valid");
        assert_eq!(
            s.target,
            Target::Url(url::Url::parse("http://localhost:8080").unwrap())
        );
        assert!(s.secrets.is_empty(), "an address is not a secret");

        let env = |name: &str| {
            (name == "CONTEND_TARGET").then(|| "https://ci:pa55word@staging.example".to_string())
        };
        let s = parse_str(Path::new("a.toml"), &text, &env).expect("valid");
        assert_eq!(
            s.secrets,
            vec!["pa55word".to_string()],
            "a password in it is"
        );
    }

    #[test]
    fn an_unset_environment_variable_is_an_error_at_its_value() {
        let text = STALE_WRITE.replace("Bearer token", "Bearer ${API_TOKEN}");
        let d = only_error(&text);
        assert_eq!(d.message, "environment variable API_TOKEN is not set");
        assert_eq!(
            d.hint.as_deref(),
            Some("export API_TOKEN=... or give a default: ${API_TOKEN:-value}")
        );
        assert_eq!(at(&d), position_of(&text, "\"Bearer"));
    }

    #[test]
    fn an_unknown_key_is_located_and_suggests_the_closest_valid_key() {
        let text = STALE_WRITE.replace("writers = 32", "writerz = 4");
        let d = only_error(&text);
        assert_eq!(d.message, "unknown key `writerz` in [workload]");
        assert_eq!(at(&d), (9, 1));
        assert_eq!(
            d.hint.as_deref(),
            Some("did you mean `writers`? valid keys: kind, writers, rounds, increments, retry, strategies, targets, units, connections, resources, duration, requests, rate")
        );
        assert_eq!(d.snippet.as_deref(), Some("writerz = 4"));
    }

    #[test]
    fn an_unknown_key_in_an_inline_table_is_located_too() {
        let text = STALE_WRITE.replace("read = { path", "read = { pth = \"{id}\", path");
        let d = only_error(&text);
        assert_eq!(d.message, "unknown key `pth` in [resource.read]");
        assert_eq!(at(&d), position_of(&text, "pth"));
        assert!(d
            .hint
            .as_deref()
            .unwrap_or("")
            .starts_with("did you mean `path`?"));
    }

    #[test]
    fn a_top_level_key_written_under_a_section_is_told_where_it_belongs() {
        let text = STALE_WRITE.replace("conflict = [412]", "conflict = [412]\nwriters = 5");
        let d = only_error(&text);
        assert!(
            d.hint
                .as_deref()
                .unwrap_or_default()
                .starts_with("`writers` belongs in [workload]"),
            "not `winner`: {:?}",
            d.hint
        );

        let text = STALE_WRITE.replace("conflict = [412]", "conflict = [412]\ntimeout = \"5s\"");
        let d = only_error(&text);
        assert_eq!(d.message, "unknown key `timeout` in [expect]");
        assert!(
            d.hint
                .as_deref()
                .unwrap_or_default()
                .starts_with("`timeout` belongs at the top level (above the first [section])"),
            "{:?}",
            d.hint
        );
    }

    #[test]
    fn a_missing_required_key_points_at_its_table_header_with_an_example() {
        let text = STALE_WRITE.replace("kind = \"stale-write\"\n", "");
        let d = only_error(&text);
        assert_eq!(d.message, "missing required key `kind` in [workload]");
        assert_eq!(at(&d), position_of(&text, "[workload]"));
        assert_eq!(
            d.hint.as_deref(),
            Some("add it, e.g. kind = \"stale-write\"")
        );
    }

    #[test]
    fn sync_names_the_release_mode() {
        for mode in SyncMode::ALL {
            let text = format!("sync = \"{}\"\n{STALE_WRITE}", mode.name());
            assert_eq!(parse(&text).expect("valid").sync, mode);
        }
    }

    #[test]
    fn an_unknown_sync_mode_is_an_error_with_a_suggestion() {
        let text = format!("sync = \"last_byte\"\n{STALE_WRITE}");
        let d = only_error(&text);
        assert_eq!(
            d.message,
            "unknown sync mode `last_byte`; the modes are barrier, last-byte and single-packet"
        );
        assert_eq!(at(&d), (1, 8));
        assert!(d
            .hint
            .unwrap_or_default()
            .starts_with("did you mean `last-byte`?"),);
    }

    #[test]
    fn a_missing_top_level_section_points_at_the_file_start() {
        let end = STALE_WRITE.find("[expect]").unwrap();
        let d = only_error(&STALE_WRITE[..end]);
        assert_eq!(d.message, "missing required section [expect]");
        assert_eq!(d.snippet, None);
        assert_eq!(at(&d), (1, 1));
        assert!(d.hint.unwrap_or_default().contains("winner = [200, 204]"));
    }

    #[test]
    fn a_wrong_type_says_what_was_expected_and_found() {
        let text = STALE_WRITE.replace("writers = 32", "writers = \"32\"");
        let d = only_error(&text);
        assert_eq!(
            d.message,
            "wrong type for `writers` in [workload]: expected an integer, found a string"
        );
        assert_eq!(at(&d), position_of(&text, "\"32\""));
        assert_eq!(d.hint.as_deref(), Some("for example: writers = 16"));
    }

    #[test]
    fn every_problem_in_a_file_is_reported_in_file_order() {
        let text = STALE_WRITE
            .replace("timeout = \"2s\"", "timeout = 2")
            .replace("writers = 32", "writers = 0")
            .replace("conflict = [412]", "conflict = [412, 42]");
        let errors = errors(&text);
        let messages: Vec<&str> = errors.iter().map(|d| d.message.as_str()).collect();
        assert_eq!(errors.len(), 3, "{messages:#?}");
        assert!(messages[0].contains("`timeout` at the top level: expected a duration string"));
        assert!(messages[1].contains("`writers` in [workload] must be between 1 and 4096, found 0"));
        assert!(messages[2].contains("42 in `conflict` in [expect] is not an HTTP status code"));
    }

    #[test]
    fn json_and_body_together_are_an_error() {
        let text = STALE_WRITE.replace("[expect]", "body = \"{marker}\"\n\n[expect]");
        let d = only_error(&text);
        assert_eq!(d.message, "`json` and `body` cannot both be set in [write]");
        assert_eq!(at(&d), position_of(&text, "body = "));
    }

    #[test]
    fn an_invalid_locator_is_an_error_showing_both_forms() {
        let text = STALE_WRITE.replace("\"header:ETag\"", "\"etag\"");
        let d = only_error(&text);
        assert_eq!(
            d.message,
            "`etag` is not a locator for `version` in [resource]"
        );
        let hint = d.hint.clone().unwrap_or_default();
        assert!(
            hint.contains("header:NAME") && hint.contains("json:/pointer"),
            "{hint}"
        );
        assert_eq!(at(&d), position_of(&text, "\"etag\""));
    }

    #[test]
    fn a_json_locator_must_be_a_pointer() {
        let text = STALE_WRITE.replace("\"header:ETag\"", "\"json:version\"");
        let d = only_error(&text);
        assert_eq!(
            d.message,
            "JSON pointer `version` must be empty or start with `/`"
        );
        assert_eq!(d.hint.as_deref(), Some("write json:/version"));
    }

    #[test]
    fn an_unknown_placeholder_is_an_error_at_its_value() {
        let text = STALE_WRITE.replace("\"{version}\"", "\"{verison}\"");
        let errors = errors(&text);
        assert_eq!(errors.len(), 1, "{errors:#?}");
        assert!(
            errors[0]
                .message
                .contains("unknown placeholder `{verison}`"),
            "{}",
            errors[0].message
        );
        assert_eq!(at(&errors[0]), position_of(&text, "\"{verison}\""));
    }

    #[test]
    fn a_placeholder_is_an_error_where_it_has_no_value() {
        let text = STALE_WRITE.replace(
            "read = { path = \"{id}\" }",
            "read = { path = \"{id}/{marker}\" }",
        );
        let d = only_error(&text);
        assert_eq!(
            d.message,
            "placeholder `{marker}` cannot be used in [resource.read]: a read knows only `{id}` and `{unique}`"
        );
        assert_eq!(
            d.hint.as_deref(),
            Some("`{marker}` is available in [write]")
        );

        let text = STALE_WRITE.replace("text = \"seed\"", "text = \"{id}\"");
        let d = only_error(&text);
        assert!(d
            .message
            .starts_with("placeholder `{id}` cannot be used in [resource.create]"));
        assert_eq!(
            d.hint.as_deref(),
            Some(
                "`{id}` is available in [resource.read] and [write] (and in create when [resource] sets `id`)"
            )
        );

        let text = ETCD_COUNTER.replace("value = \"MA==\"", "value = \"{version}\"");
        let d = only_error(&text);
        assert_eq!(
            d.message,
            "placeholder `{version}` cannot be used in [resource.create]: create runs before any writer, so it knows only `{id}` and `{unique}`"
        );
    }

    #[test]
    fn value_and_next_are_only_for_counter_writes() {
        let text = STALE_WRITE.replace("\"{round}\"", "\"{next}\"");
        let d = only_error(&text);
        assert!(d
            .message
            .contains("`{next}` cannot be used in [write]: this is a stale-write"));
    }

    #[test]
    fn a_write_without_version_is_an_error_suggesting_if_match() {
        let text = STALE_WRITE.replace("headers = { \"If-Match\" = \"{version}\" }\n", "");
        let d = only_error(&text);
        assert!(
            d.message.contains("never sends `{version}`"),
            "{}",
            d.message
        );
        assert_eq!(at(&d), position_of(&text, "[write]"));
        assert_eq!(
            d.hint.as_deref(),
            Some("send the version you read: headers = { \"If-Match\" = \"{version}\" } or json = { version = \"{version}\" }")
        );
    }

    #[test]
    fn version_in_the_query_or_body_counts_as_sent() {
        let text = STALE_WRITE.replace(
            "headers = { \"If-Match\" = \"{version}\" }",
            "query = { v = \"{version}\" }",
        );
        assert!(parse(&text).is_ok());
    }

    #[test]
    fn a_stale_write_without_marker_in_the_body_is_an_error() {
        let text = STALE_WRITE.replace("text = \"{marker}\"", "text = \"mine\"");
        let d = only_error(&text);
        assert_eq!(
            d.message,
            "the [write] body must contain `{marker}` in a stale-write scenario"
        );
        assert_eq!(at(&d), position_of(&text, "{ text = \"mine\""));
        assert_eq!(
            d.hint.as_deref(),
            Some("put {marker} in the body so the final state shows which writer won, e.g. json = { text = \"{marker}\" }")
        );
    }

    #[test]
    fn a_counter_write_must_send_next() {
        let text = COUNTER.replace("count = \"{next}\"", "count = \"{value}\"");
        let d = only_error(&text);
        assert!(d.message.contains("must contain `{next}`"), "{}", d.message);
    }

    #[test]
    fn rounds_on_a_counter_is_an_error_naming_increments() {
        let text = COUNTER.replace("increments = 20", "rounds = 20");
        let d = only_error(&text);
        assert_eq!(
            d.message,
            "`rounds` is for stale-write workloads; a counter counts `increments` per writer"
        );
        assert_eq!(d.hint.as_deref(), Some("write increments = N instead"));
        assert_eq!(at(&d), position_of(&text, "rounds"));
    }

    #[test]
    fn increments_retry_and_value_on_a_stale_write_are_errors() {
        let text = STALE_WRITE
            .replace("rounds = 200", "increments = 200\nretry = { budget = 3 }")
            .replace(
                "version = \"header:ETag\"",
                "version = \"header:ETag\"\nvalue = \"json:/n\"",
            );
        let errors = errors(&text);
        let messages: Vec<&str> = errors.iter().map(|d| d.message.as_str()).collect();
        assert_eq!(errors.len(), 3, "{messages:#?}");
        assert!(messages[0].starts_with("`increments` is for counter workloads"));
        assert_eq!(errors[0].hint.as_deref(), Some("write rounds = N instead"));
        assert!(messages[1].starts_with("`retry` is only used by counter workloads"));
        assert_eq!(
            messages[2],
            "`value` is only used by counter and sustained workloads"
        );
    }

    #[test]
    fn a_counter_needs_a_value_locator() {
        let text = COUNTER.replace("value = \"json:/count\"\n", "");
        let d = only_error(&text);
        assert_eq!(d.message, "missing required key `value` in [resource]");
    }

    #[test]
    fn stale_write_needs_two_writers() {
        let d = only_error(&STALE_WRITE.replace("writers = 32", "writers = 1"));
        assert_eq!(
            d.message,
            "stale-write needs at least 2 writers to race, found 1"
        );
    }

    #[test]
    fn an_unknown_kind_suggests_the_right_one() {
        let d = only_error(&STALE_WRITE.replace("\"stale-write\"", "\"stale_write\""));
        assert_eq!(d.message, "unknown workload kind `stale_write`");
        assert_eq!(
            d.hint.as_deref(),
            Some("did you mean `stale-write`? the kinds are stale-write, counter, unique-create, transition, stock, idempotency, precondition-required and sustained")
        );
    }

    #[test]
    fn create_and_an_id_in_both_places_is_an_error_and_one_of_them_is_required() {
        let both = STALE_WRITE.replace("read = {", "id = \"/notes/1\"\nread = {");
        let d = only_error(&both);
        assert_eq!(
            d.message,
            "`id` is set both in [resource] and in its `create`"
        );
        assert_eq!(at(&d), position_of(&both, "id = \"/notes/1\""));

        let start = STALE_WRITE.find("create = ").unwrap();
        let end = start + STALE_WRITE[start..].find('\n').unwrap() + 1;
        let neither = format!("{}{}", &STALE_WRITE[..start], &STALE_WRITE[end..]);
        let d = only_error(&neither);
        assert_eq!(d.message, "[resource] needs either `create` or `id`");
        assert_eq!(at(&d), position_of(&neither, "[resource]"));
    }

    /// etcd's compare-and-swap, as shipped in real-servers/etcd: a known key, base64
    /// templates, a body that decides the winner, and a decoded counter value.
    const ETCD_COUNTER: &str = r#"target = "http://127.0.0.1:2379"

[workload]
kind = "counter"
writers = 4
increments = 5

[resource]
id = "/contend/counter"
create = { path = "/v3/kv/put", json = { key = "{id|base64}", value = "MA==" }, expect = [200] }
read = { method = "POST", path = "/v3/kv/range", json = { key = "{id|base64}" } }
version = "json:/kvs/0/mod_revision"
value = "json:/kvs/0/value|base64"

[write]
method = "POST"
path = "/v3/kv/txn"
json = { compare = [{ key = "{id|base64}", target = "MOD", mod_revision = "{version}" }], success = [{ request_put = { key = "{id|base64}", value = "{next|base64}" } }] }

[expect]
winner = [200]
conflict = [200]
winner_when = { json = "/succeeded", equals = true }
"#;

    #[test]
    fn create_with_a_known_id_gives_setup_create_at_and_may_use_id() {
        let s = parse(ETCD_COUNTER).expect("valid");
        let Setup::CreateAt {
            request,
            expect,
            id,
        } = &s.resource.setup
        else {
            panic!("expected Setup::CreateAt, got {:?}", s.resource.setup);
        };
        assert_eq!(id, "/contend/counter");
        assert_eq!(expect, &vec![200]);
        assert_eq!(request.method, "POST");
        let Body::Json(body) = &request.body else {
            panic!("expected a JSON body");
        };
        assert_eq!(body, &json!({"key": "{id|base64}", "value": "MA=="}));
    }

    #[test]
    fn filtered_placeholders_count_as_sent_and_render_encoded() {
        let s = parse(ETCD_COUNTER).expect("valid: {next|base64} counts as sending {next}");
        let vars = crate::scenario::Vars {
            id: Some("/contend/counter".into()),
            version: Some(json!("12")),
            value: Some(6),
            ..Default::default()
        };
        let Body::Json(body) = &s.write.body else {
            panic!("expected a JSON body");
        };
        let sent = crate::scenario::template::render_json(body, &vars);
        assert_eq!(sent["compare"][0]["key"], "L2NvbnRlbmQvY291bnRlcg==");
        assert_eq!(sent["compare"][0]["mod_revision"], "12");
        assert_eq!(sent["success"][0]["request_put"]["value"], "Nw==");
    }

    #[test]
    fn a_locator_may_decode_what_it_finds() {
        let s = parse(ETCD_COUNTER).expect("valid");
        assert_eq!(
            s.resource.value,
            Some(Locator::Decoded(
                Box::new(Locator::Json("/kvs/0/value".into())),
                crate::scenario::Filter::Base64
            ))
        );
        let text = ETCD_COUNTER.replace("value|base64\"", "value|hex\"");
        let d = only_error(&text);
        assert_eq!(
            d.message,
            "unknown filter `|hex` in locator `json:/kvs/0/value|hex`"
        );
        assert!(d.hint.clone().unwrap_or_default().contains("|base64"));
        assert_eq!(at(&d), position_of(&text, "\"json:/kvs/0/value|hex\""));
    }

    #[test]
    fn an_unknown_template_filter_is_an_error_at_its_value() {
        let text = ETCD_COUNTER.replace("{next|base64}", "{next|b64}");
        let d = only_error(&text);
        assert!(
            d.message
                .contains("unknown filter `|b64` in `{next|b64}`; the filters are |base64"),
            "{}",
            d.message
        );
        assert_eq!(at(&d), position_of(&text, "\"{next|b64}\""));
    }

    #[test]
    fn a_misspelt_filtered_placeholder_suggests_the_placeholder() {
        let d = only_error(&ETCD_COUNTER.replace("{next|base64}", "{nxet|base64}"));
        assert!(
            d.hint
                .as_deref()
                .unwrap_or_default()
                .starts_with("did you mean `{next}`"),
            "{:?}",
            d.hint
        );
    }

    #[test]
    fn winner_when_lets_one_status_mean_either_outcome() {
        let s = parse(ETCD_COUNTER).expect("valid");
        assert_eq!(s.expect.winner, vec![200]);
        assert_eq!(s.expect.conflict, vec![200]);
        assert_eq!(
            s.expect.winner_when,
            Some(crate::scenario::BodyMatch {
                pointer: "/succeeded".into(),
                equals: json!(true),
            })
        );
        let without = ETCD_COUNTER.replace(
            "winner_when = { json = \"/succeeded\", equals = true }\n",
            "",
        );
        let d = only_error(&without);
        assert_eq!(
            d.message,
            "status 200 is listed as both a winner and a conflict"
        );
        assert!(d.hint.unwrap_or_default().contains("winner_when"));
    }

    #[test]
    fn winner_when_needs_a_pointer_and_a_value() {
        let text = ETCD_COUNTER.replace("json = \"/succeeded\"", "json = \"succeeded\"");
        let d = only_error(&text);
        assert_eq!(
            d.message,
            "JSON pointer `succeeded` must be empty or start with `/`"
        );
        assert_eq!(d.hint.as_deref(), Some("write json = \"/succeeded\""));

        let text = ETCD_COUNTER.replace(", equals = true", "");
        let d = only_error(&text);
        assert!(d.message.contains("equals"), "{}", d.message);

        let text = ETCD_COUNTER.replace("equals = true", "equal = true");
        let messages: Vec<String> = errors(&text).into_iter().map(|d| d.message).collect();
        assert!(
            messages.iter().any(|m| m.contains("unknown key `equal`")),
            "{messages:?}"
        );
    }

    #[test]
    fn winner_and_conflict_must_be_disjoint_status_lists() {
        let d = only_error(&STALE_WRITE.replace("conflict = [412]", "conflict = [412, 200]"));
        assert_eq!(
            d.message,
            "status 200 is listed as both a winner and a conflict"
        );

        let d = only_error(&STALE_WRITE.replace("conflict = [412]", "conflict = 412"));
        assert_eq!(d.hint.as_deref(), Some("write a list: conflict = [412]"));

        let d = only_error(&STALE_WRITE.replace("conflict = [412]", "conflict = []"));
        assert!(d.message.contains("is empty"));
    }

    #[test]
    fn retry_base_must_not_exceed_max() {
        let d = only_error(&COUNTER.replace("base = \"2ms\"", "base = \"2s\""));
        assert_eq!(d.message, "retry base 2s is larger than max 1s");
    }

    #[test]
    fn target_must_be_builtin_or_an_http_url() {
        let d = only_error(&STALE_WRITE.replace("https://api.example.com/v1/", "ftp://x"));
        assert!(d.message.contains("uses the `ftp` scheme"), "{}", d.message);
        let d = only_error(&STALE_WRITE.replace("https://api.example.com/v1/", "localhost"));
        assert!(
            d.message.contains("neither `builtin` nor a URL"),
            "{}",
            d.message
        );
    }

    #[test]
    fn names_and_header_names_are_checked() {
        let d = only_error(&STALE_WRITE.replace("notes-etag-stale-write", "notes etag"));
        assert_eq!(d.message, "`notes etag` is not a valid scenario name");
        assert!(d.hint.unwrap_or_default().contains("name = \"notes-etag\""));

        let d = only_error(&STALE_WRITE.replace("\"If-Match\" =", "\"If Match\" ="));
        assert_eq!(d.message, "`If Match` is not a valid header name");
    }

    #[test]
    fn a_toml_syntax_error_is_one_located_diagnostic() {
        let text = STALE_WRITE.replace("rounds = 200", "rounds = [200");
        let d = only_error(&text);
        assert_eq!(d.message, "TOML syntax error: invalid array");
        assert_eq!(d.hint.as_deref(), Some("expected `]`"));
        assert_eq!(at(&d), (12, 1), "the parser notices at the next token");

        let d = only_error("a = 1\nb = \"open\n");
        assert_eq!(d.message, "TOML syntax error: invalid basic string");
        assert_eq!(at(&d), (2, 10), "just past the open string");
    }

    #[test]
    fn values_from_the_environment_are_redacted_from_messages() {
        let text = STALE_WRITE.replace("timeout = \"2s\"", "timeout = \"${T}\"");
        assert_ne!(text, STALE_WRITE);
        let env = |name: &str| (name == "T").then(|| "s3cret-token".to_string());
        let errors = parse_str(Path::new("a.toml"), &text, &env).expect_err("not a duration");
        assert!(errors[0].message.contains("***"), "{}", errors[0].message);
        assert!(
            !errors[0].to_string().contains("s3cret-token"),
            "{}",
            errors[0]
        );

        // A target is an address, not a secret: its errors show it.
        let text = STALE_WRITE.replace("https://api.example.com/v1/", "${TARGET}");
        let env = |name: &str| (name == "TARGET").then(|| "ftp://internal-host".to_string());
        let errors = parse_str(Path::new("a.toml"), &text, &env).expect_err("ftp");
        assert_eq!(
            errors[0].message,
            "target `ftp://internal-host` uses the `ftp` scheme; contend speaks http and https"
        );
    }

    #[test]
    fn dotted_keys_read_like_tables() {
        let text = STALE_WRITE
            .replace(
                "[workload]\nkind = \"stale-write\"",
                "[workload]\nkind.x = 1",
            )
            .replace(
                "read = { path = \"{id}\" }",
                "read.path = \"{id}\"\nread.methd = \"GET\"",
            );
        let errors = errors(&text);
        assert_eq!(errors.len(), 2, "{errors:#?}");
        assert_eq!(
            errors[0].message,
            "wrong type for `kind` in [workload]: expected a string, found a table"
        );
        assert_eq!(at(&errors[0]), position_of(&text, "kind.x"));
        assert_eq!(errors[1].message, "unknown key `methd` in [resource.read]");
        assert_eq!(at(&errors[1]), position_of(&text, "methd"));
    }

    #[test]
    fn an_array_of_tables_is_not_a_table() {
        let text = STALE_WRITE.replace("[expect]", "[[expect]]");
        let d = only_error(&text);
        assert_eq!(
            d.message,
            "wrong type for `expect` at the top level: expected a table, found an array of tables"
        );
        assert_eq!(at(&d), position_of(&text, "[[expect]]"));
    }

    #[test]
    fn header_and_query_values_must_be_strings() {
        let text = STALE_WRITE.replace(
            "\"If-Match\" = \"{version}\"",
            "\"If-Match\" = \"{version}\", X-Try = 3",
        );
        let d = only_error(&text);
        assert_eq!(
            d.message,
            "wrong type for `X-Try` in [write.headers]: expected a string, found an integer"
        );
        assert_eq!(
            d.hint.as_deref(),
            Some("header values are strings: \"X-Try\" = \"3\"")
        );
    }

    #[test]
    fn diagnostics_display_like_rustc() {
        let text = STALE_WRITE.replace("writers = 32", "writerz = 4");
        let d = only_error(&text);
        assert_eq!(
            d.to_string(),
            "error: scenarios/test.toml:9:1: unknown key `writerz` in [workload]\n  \
             |\n9 | writerz = 4\n  | ^^^^^^^\n  = hint: did you mean `writers`? valid keys: \
             kind, writers, rounds, increments, retry, strategies, targets, units, connections, \
             resources, duration, requests, rate"
        );
    }

    #[test]
    fn load_paths_reports_the_bad_files_diagnostics_among_good_ones() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(
            dir.path().join("a.toml"),
            STALE_WRITE.replace("name = \"notes-etag-stale-write\"\n", ""),
        )
        .unwrap();
        std::fs::create_dir(dir.path().join("more")).unwrap();
        let bad = dir.path().join("more").join("b.toml");
        std::fs::write(&bad, COUNTER.replace("increments = 20", "rounds = 20")).unwrap();
        std::fs::write(dir.path().join("notes.txt"), "not a scenario").unwrap();

        let errors = load_paths(&[dir.path().to_path_buf()]).expect_err("b.toml is bad");
        assert_eq!(errors.len(), 1, "{errors:#?}");
        assert_eq!(errors[0].file, bad);
        assert!(errors[0].message.starts_with("`rounds` is for stale-write"));

        std::fs::write(&bad, COUNTER).unwrap();
        let scenarios = load_paths(&[dir.path().to_path_buf()]).expect("both valid");
        let names: Vec<&str> = scenarios.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["a", "b"], "files are loaded in sorted path order");
    }

    #[test]
    fn load_paths_rejects_duplicate_names_missing_paths_and_empty_directories() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("a.toml"), STALE_WRITE).unwrap();
        std::fs::write(dir.path().join("b.toml"), STALE_WRITE).unwrap();
        let empty = dir.path().join("empty");
        std::fs::create_dir(&empty).unwrap();
        let missing = dir.path().join("missing.toml");

        let errors = load_paths(&[dir.path().to_path_buf(), missing.clone(), empty.clone()])
            .expect_err("three problems");
        assert_eq!(errors.len(), 3, "{errors:#?}");
        assert_eq!(errors[0].file, missing);
        assert_eq!(errors[0].message, "no such file or directory");
        assert_eq!(errors[1].file, empty);
        assert!(errors[1].message.starts_with("no .toml files"));
        assert_eq!(errors[2].file, dir.path().join("b.toml"));
        assert!(
            errors[2]
                .message
                .starts_with("duplicate scenario name `notes-etag-stale-write`"),
            "{}",
            errors[2].message
        );
        assert_eq!(
            at(&errors[2]),
            (1, 8),
            "points at the name in the second file"
        );
    }

    #[test]
    fn load_file_reports_an_unreadable_file_as_a_whole_file_problem() {
        let errors = load_file(Path::new("/nonexistent/x.toml")).expect_err("missing");
        assert_eq!(errors.len(), 1);
        assert_eq!((errors[0].line, errors[0].column), (0, 0));
    }

    /// A sustained scenario: 4 connections on 2 hot notes for 100 attempts, open model.
    const SUSTAINED: &str = r#"name = "sus"
target = "builtin"

[workload]
kind = "sustained"
connections = 4
resources = 2
requests = 100
rate = 500

[resource]
create = { method = "POST", path = "/notes", json = { count = 0 }, id = "header:Location" }
read = { path = "{id}" }
version = "header:ETag"
value = "json:/count"

[write]
method = "PUT"
path = "{id}"
headers = { "If-Match" = "{version}" }
json = { count = "{next}" }

[expect]
winner = [200]
conflict = [412]
"#;

    #[test]
    fn a_sustained_file_parses_into_connections_resources_limit_and_rate() {
        let s = parse(SUSTAINED).expect("valid sustained scenario");
        assert_eq!(s.workload.writers, 4, "connections become Workload.writers");
        assert_eq!(
            s.workload.kind,
            WorkloadKind::Sustained {
                resources: 2,
                limit: SustainedLimit::Requests(100),
                rate: Some(500),
            }
        );
        let closed = SUSTAINED
            .replace("requests = 100\nrate = 500", "duration = \"2s\"")
            .replace("resources = 2\n", "");
        assert_eq!(
            parse(&closed).expect("valid").workload.kind,
            WorkloadKind::Sustained {
                resources: 1,
                limit: SustainedLimit::Duration(Duration::from_secs(2)),
                rate: None,
            },
            "one resource and the closed model unless the file says"
        );
    }

    #[test]
    fn a_sustained_workload_stops_after_a_duration_or_requests_not_both_nor_neither() {
        let both = SUSTAINED.replace("requests = 100", "requests = 100\nduration = \"1s\"");
        let d = only_error(&both);
        assert!(d.message.contains("not both"), "{}", d.message);
        let neither = SUSTAINED.replace("requests = 100\n", "");
        let d = only_error(&neither);
        assert_eq!(
            d.message,
            "a sustained workload needs `duration` or `requests`"
        );
        let zero = SUSTAINED.replace("requests = 100", "duration = \"0s\"");
        let d = only_error(&zero);
        assert!(d.message.contains("greater than zero"), "{}", d.message);
        assert_eq!(at(&d), position_of(&zero, "\"0s\""));
    }

    #[test]
    fn sustained_keys_are_checked_where_they_are_written() {
        let writers = SUSTAINED.replace("connections = 4", "writers = 4");
        let d = only_error(&writers);
        assert_eq!(
            d.message,
            "a sustained workload has `connections`, not `writers`"
        );
        assert_eq!(at(&d), position_of(&writers, "writers"));
        let rounds = SUSTAINED.replace("requests = 100", "requests = 100\nrounds = 5");
        let d = only_error(&rounds);
        assert!(
            d.message.starts_with("`rounds` is for stale-write"),
            "{}",
            d.message
        );
        assert_eq!(at(&d), position_of(&rounds, "rounds"));
        let no_rate = SUSTAINED.replace("rate = 500", "rate = 0");
        let d = only_error(&no_rate);
        let (line, column) = position_of(&no_rate, "rate = 0");
        assert_eq!(at(&d), (line, column + "rate = ".len()));
        let no_next = SUSTAINED.replace("count = \"{next}\"", "count = 1");
        let d = only_error(&no_next);
        assert!(d.message.contains("must contain `{next}`"), "{}", d.message);
    }

    #[test]
    fn sustained_keys_on_another_kind_are_errors() {
        let text = STALE_WRITE.replace("rounds = 200", "rounds = 200\nconnections = 4\nrate = 9");
        let errors = errors(&text);
        let messages: Vec<&str> = errors.iter().map(|d| d.message.as_str()).collect();
        assert_eq!(
            messages,
            [
                "`connections` is only used by sustained workloads",
                "`rate` is only used by sustained workloads"
            ]
        );
        assert_eq!(at(&errors[0]), position_of(&text, "connections"));
    }
}
