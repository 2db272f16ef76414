//! Counter scenarios with client strategies: budgets from `retry` unless a strategy
//! says, each strategy named once, and strategies on counters only.

use std::time::Duration;

use contend::scenario::{RetryPolicy, Strategy, StrategyKind, WorkloadKind};

use crate::transition::TRANSITION;
use crate::{at, only_error, parse, position_of};

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
