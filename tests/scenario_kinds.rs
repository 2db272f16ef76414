//! Scenario files for the workload kinds beyond stale-write and counter: each shape
//! parses into the model, and each mistake is one located diagnostic with a hint.

use std::path::Path;
use std::time::Duration;

use contend::scenario::{
    parse_str, Diagnostic, Level, Locator, RetryPolicy, Scenario, Setup, StockLocator, Strategy,
    StrategyKind, TransitionTarget, WorkloadKind,
};

fn parse(text: &str) -> Result<Scenario, Vec<Diagnostic>> {
    parse_str(Path::new("scenarios/test.toml"), text, &|_| None)
}

fn only_error(text: &str) -> Diagnostic {
    match parse(text) {
        Ok(s) => panic!("expected an error, parsed {}", s.name),
        Err(errors) => {
            assert_eq!(errors.len(), 1, "expected one error: {errors:#?}");
            errors.into_iter().next().expect("one error")
        }
    }
}

/// (line, column) of the first `needle` in `text`.
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

const UNIQUE: &str = r#"[workload]
kind = "unique-create"
writers = 16
rounds = 30

[resource]
read = { path = "/users", query = { email = "{unique}@example.com" } }
count = "json:/items"

[write]
method = "POST"
path = "/users"
json = { email = "{unique}@example.com", name = "{marker}" }

[expect]
winner = [201]
conflict = [409]
actionable = { carries = ["json:/existing", "header:ETag"], content_type = ["json"], level = "warning" }
"#;

const TRANSITION: &str = r#"[workload]
kind = "transition"
writers = 8
targets = [{ send = "cancel", state = "cancelled" }, "shipped"]

[resource]
create = { path = "/orders", json = { item = "book" }, id = "header:Location" }
read = { path = "{id}" }
state = "json:/state"

[write]
method = "POST"
path = "{id}/transitions"
json = { to = "{target}" }

[expect]
winner = [200]
conflict = [409]
"#;

const STOCK: &str = r#"[workload]
kind = "stock"
writers = 8
units = 1

[resource]
create = { path = "/slots", json = { capacity = "{units}" }, id = "header:Location" }
read = { path = "{id}" }
claimed = "json:/bookings"

[write]
method = "POST"
path = "{id}/bookings"
json = { who = "{marker}" }

[expect]
winner = [201]
conflict = [409]
"#;

const IDEMPOTENCY: &str = r#"[workload]
kind = "idempotency"
writers = 8

[resource]
read = { path = "/payments", query = { key = "{unique}" } }
count = "json:/count"

[write]
method = "POST"
path = "/payments"
headers = { "Idempotency-Key" = "{unique}", "X-Request-Id" = "{marker}" }
json = { amount = 100 }

[expect]
winner = [201]
conflict = [409]
"#;

const PRECONDITION: &str = r#"[workload]
kind = "precondition-required"
writers = 1

[resource]
id = "/notes/1"
read = { path = "{id}" }

[write]
method = "PUT"
path = "{id}"
json = { text = "{marker}" }
"#;

const STRATEGIES: &str = r#"[workload]
kind = "counter"
retry = { budget = 20, base = "2ms", max = "40ms" }
strategies = ["backoff", { name = "immediate", budget = 7 }, "give-up"]

[resource]
id = "/counters/1"
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
fn a_unique_create_needs_no_resource_and_counts_with_a_list_or_a_number() {
    let s = parse(UNIQUE).expect("valid");
    assert_eq!(s.workload.kind, WorkloadKind::UniqueCreate);
    assert_eq!((s.workload.writers, s.workload.rounds), (16, 30));
    assert!(matches!(s.resource.setup, Setup::Nothing));
    assert_eq!(s.resource.version, None);
    assert_eq!(s.resource.count, Some(Locator::Json("/items".into())));
    let actionable = s.expect.actionable.expect("actionable");
    assert_eq!(
        actionable.carries,
        [
            Locator::Json("/existing".into()),
            Locator::Header("ETag".into())
        ]
    );
    assert_eq!(actionable.content_types, ["json"]);
    assert_eq!(actionable.level, Level::Warning);
}

#[test]
fn a_transition_has_targets_as_states_or_as_what_to_send_and_the_state_it_leads_to() {
    let s = parse(TRANSITION).expect("valid");
    assert_eq!(
        s.workload.kind,
        WorkloadKind::Transition {
            targets: vec![
                TransitionTarget {
                    send: "cancel".into(),
                    state: "cancelled".into()
                },
                TransitionTarget {
                    send: "shipped".into(),
                    state: "shipped".into()
                },
            ]
        }
    );
    assert_eq!(s.workload.rounds, 50, "rounds default to 50");
    assert_eq!(s.resource.state, Some(Locator::Json("/state".into())));
}

#[test]
fn a_stock_reads_units_left_or_units_claimed() {
    let s = parse(STOCK).expect("valid");
    assert_eq!(s.workload.kind, WorkloadKind::Stock { units: 1 });
    assert_eq!(
        s.resource.stock,
        Some(StockLocator::Claimed(Locator::Json("/bookings".into())))
    );
    let s = parse(&STOCK.replace("claimed = \"json:/bookings\"", "remaining = \"json:/left\""))
        .expect("valid");
    assert_eq!(
        s.resource.stock,
        Some(StockLocator::Remaining(Locator::Json("/left".into())))
    );
}

#[test]
fn an_idempotency_write_may_vary_its_headers_but_not_its_payload() {
    let s = parse(IDEMPOTENCY).expect("valid");
    assert_eq!(s.workload.kind, WorkloadKind::Idempotency);
    let text = IDEMPOTENCY.replace("amount = 100", "amount = 100, note = \"{marker}\"");
    let d = only_error(&text);
    assert!(
        d.message.starts_with(
            "the writers' requests must be identical in an idempotency scenario, but `{marker}`"
        ),
        "{}",
        d.message
    );
    assert_eq!(at(&d), position_of(&text, "{ amount"));
}

#[test]
fn a_precondition_required_scenario_promises_428_by_default_and_no_winner() {
    let s = parse(PRECONDITION).expect("valid");
    assert_eq!(s.workload.kind, WorkloadKind::PreconditionRequired);
    assert_eq!(s.workload.writers, 1, "no race is needed to send one write");
    assert_eq!(s.expect.conflict, [428]);
    assert!(s.expect.winner.contains(&200) && s.expect.winner.contains(&204));

    let text = format!("{PRECONDITION}\n[expect]\nwinner = [200]\n");
    let d = only_error(&text);
    assert!(
        d.message
            .starts_with("a precondition-required scenario has no winner"),
        "{}",
        d.message
    );
    assert_eq!(at(&d), position_of(&text, "winner"));

    let text = PRECONDITION.replace(
        "path = \"{id}\"\njson",
        "path = \"{id}\"\nheaders = { \"If-Match\" = \"{version}\" }\njson",
    );
    let d = only_error(&text);
    assert_eq!(
        d.message,
        "[write] sends `{version}`, but a precondition-required write must be unconditional"
    );
}

#[test]
fn counter_strategies_take_their_budgets_from_retry_unless_they_say() {
    let s = parse(STRATEGIES).expect("valid");
    let retry = RetryPolicy {
        budget: 20,
        base: Duration::from_millis(2),
        max: Duration::from_millis(40),
    };
    let WorkloadKind::Counter { strategies, .. } = s.workload.kind else {
        panic!("a counter");
    };
    assert_eq!(
        strategies,
        [
            Strategy {
                kind: StrategyKind::Backoff,
                retry: retry.clone()
            },
            Strategy {
                kind: StrategyKind::Immediate,
                retry: RetryPolicy {
                    budget: 7,
                    ..retry.clone()
                }
            },
            Strategy {
                kind: StrategyKind::GiveUp,
                retry: RetryPolicy { budget: 3, ..retry }
            },
        ]
    );
}

#[test]
fn an_unknown_or_repeated_strategy_and_a_wait_for_one_that_never_waits_are_errors() {
    let text = STRATEGIES.replace("\"give-up\"]", "\"giveup\"]");
    let d = only_error(&text);
    assert_eq!(d.message, "unknown client strategy `giveup`");
    assert_eq!(
        d.hint.as_deref(),
        Some("did you mean `give-up`? the strategies are backoff, immediate and give-up")
    );
    assert_eq!(at(&d), position_of(&text, "\"giveup\""));

    let d = only_error(&STRATEGIES.replace("\"give-up\"]", "\"backoff\"]"));
    assert_eq!(d.message, "strategy `backoff` is listed twice");

    let text = STRATEGIES.replace("budget = 7 }", "budget = 7, base = \"1ms\" }");
    let d = only_error(&text);
    assert_eq!(
        d.message,
        "`base` only applies to the backoff strategy; immediate retries without waiting"
    );
    assert_eq!(at(&d), position_of(&text, "base = \"1ms\""));

    let d = only_error(&STRATEGIES.replace("strategies = [", "strategies = [3, "));
    assert!(
        d.message
            .starts_with("wrong type in `strategies` in [workload]: expected strategy names or tables, found an integer"),
        "{}",
        d.message
    );
}

#[test]
fn strategies_belong_to_counters_only() {
    let text = TRANSITION.replace("writers = 8", "writers = 8\nstrategies = [\"backoff\"]");
    let d = only_error(&text);
    assert!(
        d.message
            .starts_with("`strategies` are client strategies of counter workloads"),
        "{}",
        d.message
    );
}

#[test]
fn a_unique_create_must_send_and_read_this_rounds_key() {
    let text = UNIQUE.replace(
        "json = { email = \"{unique}@example.com\", name",
        "json = { email = \"a@example.com\", name",
    );
    let d = only_error(&text);
    assert!(
        d.message.starts_with("[write] never uses `{unique}`"),
        "{}",
        d.message
    );
    assert_eq!(at(&d), position_of(&text, "[write]"));

    let text = UNIQUE.replace(
        "email = \"{unique}@example.com\" } }",
        "email = \"a@example.com\" } }",
    );
    let d = only_error(&text);
    assert!(
        d.message.contains("must find this round's key"),
        "{}",
        d.message
    );
    assert_eq!(at(&d), position_of(&text, "{ path = \"/users\""));
}

#[test]
fn id_has_no_value_without_a_resource_to_set_up() {
    let text = UNIQUE.replace("path = \"/users\"\njson", "path = \"/users/{id}\"\njson");
    let d = only_error(&text);
    assert_eq!(
        d.message,
        "[write] uses `{id}`, but [resource] has neither `create` nor `id`"
    );
    let with_parent = text.replace("[resource]\n", "[resource]\nid = \"/orgs/1\"\n");
    assert!(parse(&with_parent).is_ok());
}

#[test]
fn a_transition_needs_targets_a_state_and_a_fresh_resource_every_round() {
    let d = only_error(&TRANSITION.replace(
        "targets = [{ send = \"cancel\", state = \"cancelled\" }, \"shipped\"]\n",
        "",
    ));
    assert_eq!(d.message, "missing required key `targets` in [workload]");

    let text = TRANSITION.replace(
        "{ send = \"cancel\", state = \"cancelled\" }",
        "{ send = \"cancel\" }",
    );
    let d = only_error(&text);
    assert_eq!(
        d.message,
        "missing required key `state` in [workload.targets[0]]"
    );

    let d = only_error(&TRANSITION.replace("state = \"json:/state\"\n", ""));
    assert_eq!(d.message, "missing required key `state` in [resource]");

    let text = TRANSITION.replace(
        "create = { path = \"/orders\", json = { item = \"book\" }, id = \"header:Location\" }",
        "id = \"/orders/1\"",
    );
    let d = only_error(&text);
    assert!(
        d.message.starts_with(
            "`id` names one resource, but every transition round uses its resource up"
        ),
        "{}",
        d.message
    );
    assert_eq!(at(&d), position_of(&text, "id = "));

    let d = only_error(&TRANSITION.replace("to = \"{target}\"", "to = \"cancelled\""));
    assert!(
        d.message.starts_with("[write] never sends `{target}`"),
        "{}",
        d.message
    );
}

#[test]
fn placeholders_of_one_kind_are_errors_in_another() {
    let text = STOCK.replace("who = \"{marker}\"", "who = \"{target}\"");
    let d = only_error(&text);
    assert_eq!(
        d.message,
        "placeholder `{target}` cannot be used in [write]: this is a stock scenario; writers have targets only in a transition"
    );
    assert_eq!(
        d.hint.as_deref(),
        Some("`{target}` is available in [write] of transition workloads")
    );

    let d = only_error(&TRANSITION.replace("item = \"book\"", "item = \"{units}\""));
    assert!(
        d.message
            .starts_with("placeholder `{units}` cannot be used in [resource.create]: this is a transition scenario"),
        "{}",
        d.message
    );

    let d = only_error(&STOCK.replace("path = \"{id}\" }", "path = \"{id}/{marker}\" }"));
    assert_eq!(
        d.message,
        "placeholder `{marker}` cannot be used in [resource.read]: a read knows only `{id}`, `{units}` and `{unique}`"
    );
}

#[test]
fn a_transition_write_may_send_a_version_only_when_the_resource_says_where_it_is() {
    let text = TRANSITION.replace(
        "json = { to = \"{target}\" }",
        "json = { to = \"{target}\", version = \"{version}\" }",
    );
    let d = only_error(&text);
    assert_eq!(
        d.message,
        "[write] sends `{version}`, but [resource] has no `version` to read it from"
    );
    let with_version = text.replace(
        "state = \"json:/state\"",
        "state = \"json:/state\"\nversion = \"json:/version\"",
    );
    assert!(parse(&with_version).is_ok());
}

#[test]
fn a_stock_needs_more_writers_than_units_and_one_way_to_read_them() {
    let text = STOCK.replace("units = 1", "units = 8");
    let d = only_error(&text);
    assert_eq!(
        d.message,
        "units = 8 leaves no race: a stock round needs more writers than units, and writers = 8"
    );
    assert_eq!(at(&d), position_of(&text, "8\n\n[resource]"));

    let d = only_error(&STOCK.replace("claimed = \"json:/bookings\"\n", ""));
    assert_eq!(
        d.message,
        "[resource] needs `remaining` or `claimed` in a stock scenario"
    );

    let d = only_error(&STOCK.replace(
        "claimed = \"json:/bookings\"",
        "claimed = \"json:/bookings\"\nremaining = \"json:/left\"",
    ));
    assert_eq!(
        d.message,
        "`remaining` and `claimed` cannot both be set in [resource]"
    );
}

#[test]
fn keys_of_other_kinds_are_errors_naming_their_kind() {
    let d = only_error(&UNIQUE.replace(
        "count = \"json:/items\"",
        "count = \"json:/items\"\nstate = \"json:/s\"",
    ));
    assert_eq!(d.message, "`state` is only used by transition workloads");
    let d = only_error(&TRANSITION.replace("writers = 8", "writers = 8\nunits = 2"));
    assert_eq!(d.message, "`units` is only used by stock workloads");
    let d = only_error(&STOCK.replace("units = 1", "units = 1\ntargets = [\"x\"]"));
    assert_eq!(d.message, "`targets` is only used by transition workloads");
    let d = only_error(&TRANSITION.replace(
        "state = \"json:/state\"",
        "state = \"json:/state\"\ncount = \"json:/n\"",
    ));
    assert_eq!(
        d.message,
        "`count` is only used by unique-create and idempotency workloads"
    );
    let d = only_error(&IDEMPOTENCY.replace("count = \"json:/count\"\n", ""));
    assert_eq!(d.message, "missing required key `count` in [resource]");
}

#[test]
fn actionable_requirements_are_checked() {
    let text = UNIQUE.replace("level = \"warning\"", "level = \"fatal\"");
    let d = only_error(&text);
    assert_eq!(
        d.message,
        "unknown level `fatal` for `level` in [expect.actionable]"
    );
    let text = UNIQUE.replace(
        "content_type = [\"json\"]",
        "content_type = [\"problem json\"]",
    );
    let d = only_error(&text);
    assert_eq!(d.message, "`problem json` is not a media type");
    assert_eq!(at(&d), position_of(&text, "\"problem json\""));
    let text = UNIQUE.replace("\"header:ETag\"", "\"etag\"");
    let d = only_error(&text);
    assert_eq!(
        d.message,
        "`etag` is not a locator for `carries` in [expect.actionable]"
    );
    let d = only_error(&UNIQUE.replace(
        "actionable = { carries = [\"json:/existing\", \"header:ETag\"], content_type = [\"json\"], level = \"warning\" }",
        "actionable = { level = \"warning\" }",
    ));
    assert_eq!(d.message, "`actionable` in [expect] asks for nothing");
}
