//! Unique-create scenarios: no resource to set up, a count read as a list or a number,
//! and this round's key both sent and read.

use contend::scenario::{Level, Locator, Setup, WorkloadKind};

use crate::{at, only_error, parse, position_of};

pub const UNIQUE: &str = r#"[workload]
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
