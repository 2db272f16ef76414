//! Precondition-required scenarios: 428 promised by default, no winner, and an
//! unconditional write.

use contend::scenario::WorkloadKind;

use crate::{at, only_error, parse, position_of};

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
