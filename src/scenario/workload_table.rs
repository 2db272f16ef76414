//! `[workload]`: which workload a scenario runs, and its settings.
//!
//! `kind` names the workload; the registry ([`super::workload`]) then says which of the
//! other keys it takes, which of them it requires, and what its steps are counted in.
//! Every key is read the same way for every workload that takes it (a key no workload
//! knows is the key catalogue's business, `keys.rs`); a key the workload does not take
//! is refused where it is written, naming the workloads that do take it. The one
//! `match` on [`WorkloadId`] here builds each workload's [`WorkloadKind`] from the
//! values read, with the rules only that workload has (sustained's `duration` or
//! `requests`).

use std::time::Duration;

use super::env::Context;
use super::keys::{RETRY_KEYS, STRATEGY_KEYS, TARGET_KEYS, WORKLOAD_KEYS};
use super::model::{
    RetryPolicy, Strategy, StrategyKind, SustainedLimit, TransitionTarget, Workload, WorkloadKind,
};
use super::reader::{did_you_mean, list_and, Element, Field, Reader, Table};
use super::workload::{names_where, KeyUse, Steps, WorkloadId, WorkloadKey, WorkloadRules};

/// Writers unless the file says.
const WRITERS: u32 = 16;
/// Rounds unless the file says.
const ROUNDS: u32 = 50;
/// Increments per counter writer unless the file says.
const INCREMENTS: u32 = 10;
/// Sustained connections unless the file says.
const CONNECTIONS: u32 = 8;
/// Sustained hot resources unless the file says.
const RESOURCES: u32 = 1;
/// The budget of the `give-up` strategy unless the file says.
const GIVE_UP_BUDGET: u32 = 3;

/// Reads `[workload]`: the workload's id (for checking the other tables against, even
/// when its settings are wrong) and the workload.
pub(super) fn read(r: &mut Reader<'_>, root: &Table<'_>) -> (Option<WorkloadId>, Option<Workload>) {
    let Some(t) = r
        .required(root, "workload")
        .and_then(|f| r.table(&f, WORKLOAD_KEYS))
    else {
        return (None, None);
    };
    let id = kind(r, &t);
    let settings = Settings::read(r, &t, id);
    let workload = id.and_then(|id| build(r, &t, id, settings));
    (id, workload)
}

/// `kind`: a workload's name.
fn kind(r: &mut Reader<'_>, t: &Table<'_>) -> Option<WorkloadId> {
    let name = r
        .required(t, "kind")
        .and_then(|f| r.string(&f, Context::Plain))?;
    if let Some(id) = WorkloadId::from_name(&name.value) {
        return Some(id);
    }
    let names: Vec<&str> = WorkloadId::names().collect();
    let guess = did_you_mean(&name.value, &names)
        .map(|g| format!("did you mean `{g}`? "))
        .unwrap_or_default();
    r.error(
        name.at,
        format!("unknown workload kind `{}`", name.value),
        format!("{guess}the kinds are {}", list_and(&names)),
    );
    None
}

/// The value of every `[workload]` key the workload takes, its default filled in when
/// absent. `None`: wrong, refused, missing, or not taken. While the workload is unknown,
/// every key present is read, so its own problems are reported too.
#[derive(Default)]
struct Settings {
    writers: Option<u32>,
    rounds: Option<u32>,
    increments: Option<u32>,
    retry: Option<RetryPolicy>,
    strategies: Option<Vec<Strategy>>,
    targets: Option<Vec<TransitionTarget>>,
    units: Option<u32>,
    connections: Option<u32>,
    resources: Option<u32>,
    duration: Option<Option<Duration>>,
    requests: Option<Option<u64>>,
    rate: Option<Option<u32>>,
    pace: Option<Option<Duration>>,
}

impl Settings {
    /// Reads every key in the catalogue's order (`writers` before `units`, which must be
    /// fewer; `retry` before `strategies`, which start from it).
    fn read(r: &mut Reader<'_>, t: &Table<'_>, id: Option<WorkloadId>) -> Settings {
        let mut s = Settings::default();
        for key in WorkloadKey::ALL {
            let slot = slot(r, t, id, key);
            match key {
                WorkloadKey::Writers => {
                    s.writers = with_default(slot, WRITERS, |f| writers(r, f, id));
                }
                WorkloadKey::Rounds => {
                    s.rounds = with_default(slot, ROUNDS, |f| r.u32(f, 1, u32::MAX));
                }
                WorkloadKey::Increments => {
                    s.increments = with_default(slot, INCREMENTS, |f| r.u32(f, 1, u32::MAX));
                }
                WorkloadKey::Retry => {
                    s.retry = with_default(slot, RetryPolicy::default(), |f| retry(r, f));
                }
                // Strategies are read only when `retry` is valid.
                WorkloadKey::Strategies => {
                    s.strategies = match (slot, &s.retry) {
                        (Some(Some(f)), Some(retry)) => strategies(r, &f, retry),
                        (Some(None), Some(retry)) => Some(vec![Strategy {
                            kind: StrategyKind::Backoff,
                            retry: retry.clone(),
                        }]),
                        (_, _) => None,
                    };
                }
                WorkloadKey::Targets => {
                    s.targets = with_default(slot, Vec::new(), |f| targets(r, f));
                }
                WorkloadKey::Units => {
                    s.units = with_default(slot, 0, |f| units(r, f, s.writers));
                }
                WorkloadKey::Connections => {
                    s.connections = with_default(slot, CONNECTIONS, |f| r.u32(f, 1, 4096));
                }
                WorkloadKey::Resources => {
                    s.resources = with_default(slot, RESOURCES, |f| r.u32(f, 1, 100_000));
                }
                WorkloadKey::Duration => {
                    s.duration = with_default(slot, None, |f| r.positive_duration(f).map(Some));
                }
                WorkloadKey::Requests => {
                    s.requests = with_default(slot, None, |f| {
                        r.u32(f, 1, u32::MAX).map(|n| Some(u64::from(n)))
                    });
                }
                WorkloadKey::Rate => {
                    s.rate = with_default(slot, None, |f| r.u32(f, 1, 10_000_000).map(Some));
                }
                WorkloadKey::Pace => {
                    s.pace = with_default(slot, None, |f| r.positive_duration(f).map(Some));
                }
            }
        }
        s
    }
}

/// Whether to read `key`: `Some(Some(field))` to read what is written, `Some(None)` to
/// take its default, `None` when there is no value (refused, missing or not taken; the
/// first two are reported here).
fn slot<'d>(
    r: &mut Reader<'_>,
    t: &Table<'d>,
    id: Option<WorkloadId>,
    key: WorkloadKey,
) -> Option<Option<Field<'d>>> {
    let usage = match id {
        Some(id) => id.rules().takes(key),
        None => Some(KeyUse::Optional),
    };
    match (t.field(key.name()), usage, id) {
        (Some(f), Some(_), _) => Some(Some(f)),
        (Some(f), None, Some(id)) => {
            refuse(r, &f, key, id.rules());
            None
        }
        (None, Some(KeyUse::Required), _) => {
            r.required(t, key.name());
            None
        }
        (None, Some(KeyUse::Optional), _) => Some(None),
        (_, None, _) => None,
    }
}

/// The value read from a slot, or its default.
fn with_default<T>(
    slot: Option<Option<Field<'_>>>,
    default: T,
    read: impl FnOnce(&Field<'_>) -> Option<T>,
) -> Option<T> {
    match slot? {
        Some(f) => read(&f),
        None => Some(default),
    }
}

/// Reports a `[workload]` key that `rules`' workload does not take, naming what it
/// takes instead where that is one key, or the workloads that take this one.
fn refuse(r: &mut Reader<'_>, f: &Field<'_>, key: WorkloadKey, rules: &WorkloadRules) {
    let name = rules.name;
    let owners = list_and(&names_where(|w| w.takes(key).is_some()));
    let only_for = || {
        (
            format!("`{}` is only used by {owners} workloads", key.name()),
            "remove it".to_string(),
        )
    };
    let runs_for_a_duration =
        || format!("a {name} workload runs for a `duration` or a number of `requests`");
    let duration_instead = || "write duration = \"10s\" or requests = N instead".to_string();
    let (message, hint) = match key {
        WorkloadKey::Writers if rules.takes(WorkloadKey::Connections).is_some() => (
            format!("a {name} workload has `connections`, not `writers`"),
            "write connections = N instead".to_string(),
        ),
        WorkloadKey::Rounds => match rules.steps {
            Steps::Increments => (
                format!(
                    "`rounds` is for stale-write workloads; a {name} counts `increments` per writer"
                ),
                "write increments = N instead".to_string(),
            ),
            Steps::Attempts => (
                format!(
                    "`rounds` is for stale-write workloads; {}",
                    runs_for_a_duration()
                ),
                duration_instead(),
            ),
            Steps::Rounds => only_for(),
        },
        WorkloadKey::Increments => match rules.steps {
            Steps::Rounds => (
                format!("`increments` is for {owners} workloads; {name} runs `rounds`"),
                "write rounds = N instead".to_string(),
            ),
            Steps::Attempts => (
                format!(
                    "`increments` is for {owners} workloads; {}",
                    runs_for_a_duration()
                ),
                duration_instead(),
            ),
            Steps::Increments => only_for(),
        },
        WorkloadKey::Retry => (
            format!(
                "`retry` is only used by {owners} workloads: a {name} round is one race, \
                 never retried"
            ),
            "remove `retry`".to_string(),
        ),
        WorkloadKey::Strategies => (
            format!(
                "`strategies` are client strategies of {owners} workloads: a {name} round \
                 is one race, never retried"
            ),
            "remove `strategies`".to_string(),
        ),
        // A connection policy written under the name of sustained's connection count.
        WorkloadKey::Connections if f.item.as_str().is_some() => (
            format!("`connections` is the number of connections of {owners} workloads"),
            format!(
                "to say how the writers' connections live, write writer_connections = {} at \
                 the top level (above [workload])",
                f.item
                    .as_str()
                    .map_or("\"fresh\"".into(), |v| format!("{v:?}"))
            ),
        ),
        WorkloadKey::Pace => (
            format!(
                "`pace` spaces the rounds of {owners} workloads; a {name} workload has no \
                 rounds to space"
            ),
            "remove `pace`".to_string(),
        ),
        WorkloadKey::Writers
        | WorkloadKey::Targets
        | WorkloadKey::Units
        | WorkloadKey::Connections
        | WorkloadKey::Resources
        | WorkloadKey::Duration
        | WorkloadKey::Requests
        | WorkloadKey::Rate => only_for(),
    };
    r.error(f.key_at, message, hint);
}

/// The workload `id` from the settings read; `None` when one it needs is wrong.
fn build(r: &mut Reader<'_>, t: &Table<'_>, id: WorkloadId, s: Settings) -> Option<Workload> {
    let rules = id.rules();
    let kind = match id {
        WorkloadId::StaleWrite => WorkloadKind::StaleWrite,
        WorkloadId::Counter => WorkloadKind::Counter {
            retry: s.retry?,
            strategies: s.strategies?,
        },
        WorkloadId::UniqueCreate => WorkloadKind::UniqueCreate,
        WorkloadId::Transition => WorkloadKind::Transition {
            targets: s.targets?,
        },
        WorkloadId::Stock => WorkloadKind::Stock { units: s.units? },
        WorkloadId::Idempotency => WorkloadKind::Idempotency,
        WorkloadId::PreconditionRequired => WorkloadKind::PreconditionRequired,
        WorkloadId::Sustained => {
            let limit = sustained_limit(r, t, s.duration, s.requests);
            WorkloadKind::Sustained {
                resources: s.resources?,
                limit: limit?,
                rate: s.rate?,
            }
        }
    };
    let rounds = match rules.steps {
        Steps::Rounds => s.rounds?,
        Steps::Increments => s.increments?,
        Steps::Attempts => 1,
    };
    // A workload of connections (sustained) counts its writers in them.
    let writers = if rules.takes(WorkloadKey::Connections).is_some() {
        s.connections?
    } else {
        s.writers?
    };
    Some(Workload {
        kind,
        writers,
        rounds,
        pace: s.pace.flatten(),
    })
}

/// `writers`, at least the workload's minimum.
fn writers(r: &mut Reader<'_>, f: &Field<'_>, id: Option<WorkloadId>) -> Option<u32> {
    let n = r.u32(f, 1, 4096)?;
    let min = id.map_or(1, |id| id.rules().min_writers);
    if n < min {
        let name = id.map_or("this", WorkloadId::name);
        r.error(
            f.at,
            format!("{name} needs at least {min} writers to race, found {n}"),
            "for example: writers = 16".to_string(),
        );
        return None;
    }
    Some(n)
}

/// `units`: fewer than the writers, so that a round is a race for them.
fn units(r: &mut Reader<'_>, f: &Field<'_>, writers: Option<u32>) -> Option<u32> {
    let units = r.u32(f, 1, 1_000_000);
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

/// When a sustained workload stops: after a `duration` or a number of `requests`,
/// exactly one of them.
fn sustained_limit(
    r: &mut Reader<'_>,
    t: &Table<'_>,
    duration: Option<Option<Duration>>,
    requests: Option<Option<u64>>,
) -> Option<SustainedLimit> {
    match (
        t.field(WorkloadKey::Duration.name()),
        t.field(WorkloadKey::Requests.name()),
    ) {
        (Some(_), Some(f)) => {
            r.error(
                f.key_at,
                "a sustained workload stops after a `duration` or a number of `requests`, \
                 not both",
                "keep one of them".to_string(),
            );
            None
        }
        (Some(_), None) => duration?.map(SustainedLimit::Duration),
        (None, Some(_)) => requests?.map(SustainedLimit::Requests),
        (None, None) => {
            r.error_at_table(
                t,
                "a sustained workload needs `duration` or `requests`".to_string(),
                "for example: duration = \"10s\", or requests = 10000".to_string(),
            );
            None
        }
    }
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::scenario::model::*;
    use crate::scenario::test_support::*;

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
        assert_eq!(s.writes[0].method, "PATCH");
        assert_eq!(s.writes[0].query.len(), 1);
        assert_eq!(s.writes[0].query[0].0, "rev");
        assert!(matches!(&s.writes[0].body, Body::Json(j) if *j == json!({"count": "{next}"})));
        assert_eq!(s.expect.conflict, vec![409, 412]);
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
    fn retry_base_must_not_exceed_max() {
        let d = only_error(&COUNTER.replace("base = \"2ms\"", "base = \"2s\""));
        assert_eq!(d.message, "retry base 2s is larger than max 1s");
    }

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

    #[test]
    fn every_key_a_workload_does_not_take_is_refused_where_it_is_written() {
        for id in WorkloadId::ALL {
            let (_, shipped) = shipped(id);
            let rules = id.rules();
            for key in WorkloadKey::ALL
                .into_iter()
                .filter(|k| rules.takes(*k).is_none())
            {
                let spec = WORKLOAD_KEYS.iter().find(|k| k.name == key.name());
                let example = spec.expect("in the catalogue").example;
                let text = with_line_in(shipped, "[workload]", example);
                let d = only_error(&text);
                assert_eq!(at(&d), position_of(&text, example), "{id}: {example}");
                assert!(
                    d.message.contains(&format!("`{}`", key.name())),
                    "{id}: {}",
                    d.message
                );
            }
        }
    }

    #[test]
    fn every_key_a_workload_requires_is_reported_missing_at_its_table() {
        for id in WorkloadId::ALL {
            let (_, shipped) = shipped(id);
            for (key, _) in id
                .rules()
                .workload_keys
                .iter()
                .filter(|(_, u)| *u == KeyUse::Required)
            {
                let text = without_line_in(shipped, "[workload]", key.name());
                let d = only_error(&text);
                assert_eq!(
                    d.message,
                    format!("missing required key `{}` in [workload]", key.name())
                );
                assert_eq!(at(&d), position_of(&text, "[workload]"));
            }
        }
    }

    #[test]
    fn increments_on_a_sustained_workload_point_at_duration_or_requests() {
        let (_, shipped) = shipped(WorkloadId::Sustained);
        let d = only_error(&with_line_in(shipped, "[workload]", "increments = 10"));
        assert_eq!(
            d.message,
            "`increments` is for counter workloads; a sustained workload runs for a `duration` \
             or a number of `requests`"
        );
        assert_eq!(
            d.hint.as_deref(),
            Some("write duration = \"10s\" or requests = N instead")
        );
    }

    #[test]
    fn a_sustained_workload_written_with_writers_is_told_its_limit_is_missing_too() {
        let (_, shipped) = shipped(WorkloadId::Sustained);
        let text = shipped
            .replace("connections = 8", "writers = 8")
            .replace("duration = \"3s\"\n", "");
        let messages: Vec<String> = errors(&text).into_iter().map(|d| d.message).collect();
        assert_eq!(
            messages,
            [
                "a sustained workload needs `duration` or `requests`",
                "a sustained workload has `connections`, not `writers`"
            ]
        );
    }

    #[test]
    fn pace_spaces_rounds_and_is_refused_where_there_are_none() {
        let text = STALE_WRITE.replace("rounds = 200", "rounds = 200\npace = \"1s\"");
        assert_eq!(
            parse(&text).expect("valid").workload.pace,
            Some(Duration::from_secs(1))
        );
        assert_eq!(parse(STALE_WRITE).unwrap().workload.pace, None);
        let d = only_error(&STALE_WRITE.replace("rounds = 200", "rounds = 200\npace = \"soon\""));
        assert!(
            d.message.starts_with("invalid duration `soon` for `pace`"),
            "{}",
            d.message
        );
        let text = COUNTER.replace("increments = 20", "increments = 20\npace = \"1s\"");
        let d = only_error(&text);
        assert_eq!(
            d.message,
            "`pace` spaces the rounds of stale-write, unique-create, transition, stock, \
             idempotency and precondition-required workloads; a counter workload has no rounds \
             to space"
        );
        assert_eq!(at(&d), position_of(&text, "pace"));
    }
}
