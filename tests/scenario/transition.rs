//! Transition scenarios: targets as states or as what to send, a state to read, a fresh
//! resource every round, and a version only where the resource says where it is.

use contend::scenario::{Locator, TransitionTarget, WorkloadKind};

use crate::{at, only_error, parse, position_of};

pub const TRANSITION: &str = r#"[workload]
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
