//! Keys and placeholders that belong to one workload are located errors in another,
//! naming the workload they belong to.

use crate::idempotency::IDEMPOTENCY;
use crate::only_error;
use crate::stock::STOCK;
use crate::transition::TRANSITION;
use crate::unique_create::UNIQUE;

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
