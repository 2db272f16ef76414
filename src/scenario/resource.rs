//! `[resource]`: how the contended resource is set up and read, and where its figures
//! are in a read's answer.
//!
//! The setup is `create` (once per run, or before every round when the registry says
//! the workload uses its resource up), an existing `id`, both (create at a known id), or
//! nothing for the workloads whose resource is optional. The locators (`version`,
//! `value`, `state`, `count`, `remaining`, `claimed`) are read when the registry says the
//! workload reads them, required when it says so, and refused otherwise. What the other
//! tables need to know about this one comes back as [`ResourceFacts`].

use super::env::Context;
use super::keys::{CREATE_KEYS, READ_KEYS, RESOURCE_KEYS, VERSION_KEYS};
use super::model::{Locator, Part, RequestTemplate, Resource, Setup, StockLocator, Var};
use super::reader::{list_and, Field, Reader, Table};
use super::request::{locator, request, string_template, Place};
use super::workload::{names_where, KeyUse, LocatorKey, WorkloadId};

/// Facts about `[resource]` that the other tables are checked against.
#[derive(Debug, Clone, Copy)]
pub(super) struct ResourceFacts {
    /// `create` or `id` is given, so `{id}` has a value.
    pub has_setup: bool,
    /// `version` is given, so `{version}` has a value.
    pub has_version: bool,
    /// `create` runs before every round, so a write may use the resource up (delete it).
    pub each_round: bool,
}

/// Reads `[resource]` for `workload` (`None` when unknown: every key present is
/// read, none is required).
pub(super) fn read(
    r: &mut Reader<'_>,
    root: &Table<'_>,
    workload: Option<WorkloadId>,
) -> (Option<Resource>, Option<ResourceFacts>) {
    let Some(t) = r
        .required(root, "resource")
        .and_then(|f| r.table(&f, RESOURCE_KEYS))
    else {
        return (None, None);
    };
    let name = workload.map_or("this", WorkloadId::name);
    let create_field = t.field("create");
    let id_field = t.field("id");
    let create_has_id = create_field
        .as_ref()
        .and_then(|f| f.item.as_table_like())
        .is_some_and(|c| c.contains_key("id"));
    let mut facts = ResourceFacts {
        has_setup: create_field.is_some() || id_field.is_some(),
        has_version: t.field(LocatorKey::Version.name()).is_some(),
        each_round: false,
    };
    let fresh_each_round = workload.is_some_and(|w| w.rules().creates_per_round);
    let optional = workload.is_some_and(|w| w.rules().resource_optional);
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
    let create = create_field.map(|f| create(r, &f, id_known, workload));
    let each_round = match &create {
        Some(Some(made)) => made.each_round,
        _ => Some(false),
    };
    let setup = match (create, existing) {
        _ if !setup_ok => None,
        (
            Some(Some(Created {
                request,
                expect,
                id: Some(id),
                ..
            })),
            None,
        ) => Some(Setup::Create {
            request,
            expect,
            id,
        }),
        (
            Some(Some(Created {
                request,
                expect,
                id: None,
                ..
            })),
            Some(Some(Setup::Existing { id })),
        ) => Some(Setup::CreateAt {
            request,
            expect,
            id,
        }),
        (None, Some(existing)) => existing,
        (None, None) => Some(Setup::Nothing),
        _ => None,
    };
    let create_each_round = each_round.map(|asked| asked || fresh_each_round);
    facts.each_round = create_each_round.unwrap_or(true);

    let read_field = r.required(&t, "read");
    let read = read_field.as_ref().and_then(|f| {
        let table = r.table(f, READ_KEYS)?;
        let read = request(r, &table, Place::Read(workload), Some("GET"))?;
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
    let (version, write_version) = match t.field(LocatorKey::Version.name()) {
        Some(f) if f.item.is_table_like() => match version_table(r, &f) {
            Some((read, write)) => (
                resource_locator_with(r, &t, LocatorKey::Version, workload, Some(read)),
                Some(Some(write)),
            ),
            None => (None, None),
        },
        _ => (
            resource_locator(r, &t, LocatorKey::Version, workload),
            Some(None),
        ),
    };
    let mut locator = |key: LocatorKey| resource_locator(r, &t, key, workload);
    let value = locator(LocatorKey::Value);
    let state = locator(LocatorKey::State);
    let count = locator(LocatorKey::Count);
    let remaining = locator(LocatorKey::Remaining);
    let claimed = locator(LocatorKey::Claimed);
    // A workload that reads the stock reads it one way: units left or units taken.
    let reads_stock = workload.is_some_and(|w| {
        let rules = w.rules();
        rules.reads(LocatorKey::Remaining).is_some() || rules.reads(LocatorKey::Claimed).is_some()
    });
    let stock = match (remaining, claimed) {
        (Some(Some(_)), Some(Some(_))) => {
            let at = t.field(LocatorKey::Claimed.name()).map_or(0, |f| f.key_at);
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
        (Some(None), Some(None)) if reads_stock => {
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
            create_each_round: create_each_round?,
            read: read?,
            version: version?,
            write_version: write_version?,
            value: value?,
            state: state?,
            count: count?,
            stock: stock?,
        })
    })();
    (resource, Some(facts))
}

/// `version = { read = "json:/_rev", write = "json:/rev" }`: where the version is in a
/// read's answer, and in a write's.
fn version_table(r: &mut Reader<'_>, f: &Field<'_>) -> Option<(Locator, Locator)> {
    let t = r.table(f, VERSION_KEYS)?;
    let read = r.required(&t, "read").and_then(|f| locator(r, &f));
    let write = r.required(&t, "write").and_then(|f| locator(r, &f));
    Some((read?, write?))
}

/// A locator key: read when the workload reads it (or is unknown), reported when it
/// does not, and reported missing when the workload requires it.
fn resource_locator(
    r: &mut Reader<'_>,
    t: &Table<'_>,
    key: LocatorKey,
    workload: Option<WorkloadId>,
) -> Option<Option<Locator>> {
    resource_locator_with(r, t, key, workload, None)
}

/// [`resource_locator`], with the locator already read from a table form (`version =
/// { read, write }`) when `read` is given.
fn resource_locator_with(
    r: &mut Reader<'_>,
    t: &Table<'_>,
    key: LocatorKey,
    workload: Option<WorkloadId>,
    read: Option<Locator>,
) -> Option<Option<Locator>> {
    let usage = match workload {
        Some(w) => w.rules().reads(key),
        None => Some(KeyUse::Optional),
    };
    match (t.field(key.name()), usage, workload) {
        (Some(_), Some(_), _) if read.is_some() => Some(read),
        (Some(f), Some(_), _) => locator(r, &f).map(Some),
        (Some(f), None, Some(w)) => {
            r.error(
                f.key_at,
                format!(
                    "`{}` is only used by {} workloads",
                    key.name(),
                    list_and(&readers(key))
                ),
                refused_locator_hint(w, key).to_string(),
            );
            None
        }
        (None, Some(KeyUse::Required), _) => {
            r.required(t, key.name());
            None
        }
        (None, Some(KeyUse::Optional), _) | (_, None, _) => Some(None),
    }
}

/// The workloads that read a locator, for the message that refuses it elsewhere.
fn readers(key: LocatorKey) -> Vec<&'static str> {
    names_where(|w| w.reads(key).is_some())
}

/// The hint for a locator that workload `id` does not read.
fn refused_locator_hint(workload: WorkloadId, key: LocatorKey) -> &'static str {
    match workload {
        WorkloadId::StaleWrite if key == LocatorKey::Value => {
            "remove it: stale-write finds the winner by the {marker} in the final state"
        }
        WorkloadId::StaleWrite
        | WorkloadId::Counter
        | WorkloadId::UniqueCreate
        | WorkloadId::Transition
        | WorkloadId::Stock
        | WorkloadId::Idempotency
        | WorkloadId::PreconditionRequired
        | WorkloadId::Sustained => "remove it",
    }
}

/// What `[resource].create` says.
struct Created {
    request: RequestTemplate,
    expect: Vec<u16>,
    /// Where the new resource's id is in the answer (`None`: `[resource]` sets `id`).
    id: Option<Locator>,
    /// `each = "round"`, read against the workload (`None`: wrong, reported).
    each_round: Option<bool>,
}

/// The create request, its expected statuses, where the new resource's id is in the
/// answer, and how often it runs; `id_known` when `[resource]` sets `id` (then create may
/// use `{id}` and names no locator).
fn create(
    r: &mut Reader<'_>,
    f: &Field<'_>,
    id_known: bool,
    workload: Option<WorkloadId>,
) -> Option<Created> {
    let t = r.table(f, CREATE_KEYS)?;
    let each_round = t
        .field("each")
        .map_or(Some(false), |f| each(r, &f, workload));
    let place = if id_known {
        Place::CreateAt(workload)
    } else {
        Place::Create(workload)
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
    Some(Created {
        request: request?.template,
        expect: expect?,
        id: id?,
        each_round,
    })
}

/// `each = "round"` (create before every round) or `"scenario"` (once, the default),
/// where the workload allows the choice.
fn each(r: &mut Reader<'_>, f: &Field<'_>, workload: Option<WorkloadId>) -> Option<bool> {
    let text = r.string(f, Context::Plain)?;
    let round = match text.value.trim() {
        "round" => true,
        "scenario" => false,
        other => {
            let guess = super::reader::did_you_mean(other, &["round", "scenario"])
                .map(|g| format!("did you mean `{g}`? "))
                .unwrap_or_default();
            r.error(
                text.at,
                format!("unknown value `{other}` for {}", f.describe()),
                format!(
                    "{guess}write each = \"round\" (a fresh resource for every round) or each = \
                     \"scenario\" (one for the scenario, the default)"
                ),
            );
            return None;
        }
    };
    let Some(rules) = workload.map(WorkloadId::rules) else {
        return Some(round);
    };
    if round && !rules.may_create_per_round {
        let which = list_and(&names_where(|w| w.may_create_per_round));
        r.error(
            text.at,
            format!(
                "a {} scenario creates its resource once: its writers share it for the whole run",
                rules.name
            ),
            format!("remove `each`; a resource per round is for {which} workloads"),
        );
        return None;
    }
    if !round && rules.creates_per_round {
        r.error(
            text.at,
            format!(
                "every {} round uses its resource up, so create runs before every round",
                rules.name
            ),
            "remove `each` (or write each = \"round\")".to_string(),
        );
        return None;
    }
    Some(round)
}

/// `[resource] id`: a path or an http(s) URL, which may use the set-up steps' captures.
fn existing_id(r: &mut Reader<'_>, f: &Field<'_>) -> Option<Setup> {
    let id = string_template(r, f, Place::Id)?;
    let starts_with_capture = matches!(id.parts.first(), Some(Part::Captured(..)));
    let text = match id.parts.first() {
        Some(Part::Literal(text)) => text.trim_start().to_string(),
        _ => String::new(),
    };
    let is_url = url::Url::parse(&text).is_ok_and(|u| matches!(u.scheme(), "http" | "https"));
    if !starts_with_capture && !text.starts_with('/') && !is_url {
        r.error(
            f.at,
            format!(
                "resource id `{}` is neither a path nor an http(s) URL",
                f.item.as_str().unwrap_or_default()
            ),
            "write the path of the existing resource, e.g. id = \"/notes/42\", or start it \
             with a capture: id = \"{bucket}/objects/a\""
                .to_string(),
        );
        return None;
    }
    Some(Setup::Existing { id })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::scenario::model::*;
    use crate::scenario::test_support::*;

    #[test]
    fn an_existing_resource_id_gives_setup_existing() {
        let s = parse(COUNTER).expect("valid");
        assert!(
            matches!(&s.resource.setup, Setup::Existing { id } if rendered(id) == "/counters/1"),
            "{:?}",
            s.resource.setup
        );
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
    fn a_counter_needs_a_value_locator() {
        let text = COUNTER.replace("value = \"json:/count\"\n", "");
        let d = only_error(&text);
        assert_eq!(d.message, "missing required key `value` in [resource]");
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
        assert_eq!(rendered(id), "/contend/counter");
        assert_eq!(expect, &vec![200]);
        assert_eq!(request.method, "POST");
        let Body::Json(body) = &request.body else {
            panic!("expected a JSON body");
        };
        assert_eq!(body, &json!({"key": "{id|base64}", "value": "MA=="}));
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
    fn every_locator_a_workload_does_not_read_is_refused_where_it_is_written() {
        for id in WorkloadId::ALL {
            let (_, shipped) = shipped(id);
            let rules = id.rules();
            for key in LocatorKey::ALL
                .into_iter()
                .filter(|k| rules.reads(*k).is_none())
            {
                let line = format!("{} = \"json:/x\"", key.name());
                let text = with_line_in(shipped, "[resource]", &line);
                let d = only_error(&text);
                assert!(
                    d.message
                        .starts_with(&format!("`{}` is only used by ", key.name())),
                    "{id}: {}",
                    d.message
                );
                assert_eq!(at(&d), position_of(&text, &line), "{id}: {line}");
            }
        }
    }

    #[test]
    fn every_locator_a_workload_requires_is_reported_missing() {
        for id in WorkloadId::ALL {
            let (_, shipped) = shipped(id);
            let required = id
                .rules()
                .locators
                .iter()
                .filter(|(_, u)| *u == KeyUse::Required);
            for (key, _) in required {
                let text = without_line_in(shipped, "[resource]", &format!("{} = ", key.name()));
                let wanted = format!("missing required key `{}` in [resource]", key.name());
                let messages: Vec<String> = errors(&text).into_iter().map(|d| d.message).collect();
                assert!(messages.contains(&wanted), "{id}: {messages:#?}");
            }
        }
    }

    #[test]
    fn a_version_may_be_read_from_one_place_in_reads_and_another_in_write_answers() {
        let text = STALE_WRITE.replace(
            "version = \"header:ETag\"",
            "version = { read = \"json:/_rev\", write = \"json:/rev\" }",
        );
        let s = parse(&text).expect("valid");
        assert_eq!(s.resource.version, Some(Locator::Json("/_rev".into())));
        assert_eq!(s.resource.write_version, Some(Locator::Json("/rev".into())));
        assert_eq!(parse(STALE_WRITE).unwrap().resource.write_version, None);

        let text = STALE_WRITE.replace(
            "version = \"header:ETag\"",
            "version = { read = \"json:/_rev\", writ = \"json:/rev\" }",
        );
        let messages: Vec<String> = errors(&text).into_iter().map(|d| d.message).collect();
        assert_eq!(
            messages,
            [
                "missing required key `write` in [resource.version]",
                "unknown key `writ` in [resource.version]"
            ],
            "in file order: the missing key at the table, then the unknown one"
        );
    }

    #[test]
    fn create_each_round_is_a_choice_where_the_workload_allows_it() {
        let text = STALE_WRITE.replace(
            "id = \"header:Location\" }",
            "id = \"header:Location\", each = \"round\" }",
        );
        assert!(parse(&text).expect("valid").resource.create_each_round);
        assert!(!parse(STALE_WRITE).unwrap().resource.create_each_round);

        let text = STALE_WRITE.replace(
            "id = \"header:Location\" }",
            "id = \"header:Location\", each = \"rounds\" }",
        );
        let d = only_error(&text);
        assert_eq!(
            d.message,
            "unknown value `rounds` for `each` in [resource.create]"
        );
        assert!(d
            .hint
            .clone()
            .unwrap_or_default()
            .starts_with("did you mean `round`?"));
        assert_eq!(at(&d), position_of(&text, "\"rounds\""));

        let (_, counter) = shipped(WorkloadId::Counter);
        let text = counter.replace(
            "id = \"header:Location\" }",
            "id = \"header:Location\", each = \"round\" }",
        );
        assert_ne!(text, counter);
        let d = only_error(&text);
        assert_eq!(
            d.message,
            "a counter scenario creates its resource once: its writers share it for the whole run"
        );

        let (_, transition) = shipped(WorkloadId::Transition);
        let text = transition.replace(
            "id = \"header:Location\" }",
            "id = \"header:Location\", each = \"scenario\" }",
        );
        assert_ne!(text, transition);
        let d = only_error(&text);
        assert!(
            d.message
                .starts_with("every transition round uses its resource up"),
            "{}",
            d.message
        );
    }
}
