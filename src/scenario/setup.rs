//! `[[setup]]`: the set-up steps, run in order before the resource is set up, and what
//! each captures from its answer.
//!
//! A step is a request table (`request.rs` reads it) with a `name`, the statuses it must
//! get (`expect`, any 2xx unless it says) and `capture = { NAME = "LOCATOR" }`: values
//! from its answer (`header:`, `cookie:`, `json:` or `regex:`) that are placeholders
//! `{NAME}` in every later template, the later steps' included. A step can use only
//! what the steps before it captured, and a capture may not shadow a built-in
//! placeholder; both are checked here, at the place they are written, and every capture
//! is known before the steps are read so that one used too early is told which step
//! makes it. `[auth]` (`auth.rs`) decides which captures are credentials; a step may say
//! `secret = true` to redact all of its own.

use std::collections::HashSet;

use super::keys::SETUP_KEYS;
use super::model::{Capture, SetupStep, Var};
use super::reader::{Field, Reader, Table};
use super::request::{locator, request, Place};
use super::template::is_capture_name;

/// Before anything is read: every capture every step makes, with its step's name, so a
/// template that uses one too early can be told which step makes it.
pub(super) fn prescan(root: &Table<'_>) -> Vec<(String, String)> {
    let Some(field) = root.field("setup") else {
        return Vec::new();
    };
    let mut found = Vec::new();
    let steps: Vec<&dyn toml_edit::TableLike> = match field.item {
        toml_edit::Item::ArrayOfTables(tables) => tables
            .iter()
            .map(|t| t as &dyn toml_edit::TableLike)
            .collect(),
        toml_edit::Item::Value(toml_edit::Value::Array(array)) => array
            .iter()
            .filter_map(|v| v.as_inline_table())
            .map(|t| t as &dyn toml_edit::TableLike)
            .collect(),
        _ => Vec::new(),
    };
    for step in steps {
        let name = step
            .get("name")
            .and_then(|n| n.as_str())
            .unwrap_or("?")
            .to_string();
        if let Some(capture) = step.get("capture").and_then(|c| c.as_table_like()) {
            for (key, _) in capture.iter() {
                found.push((key.to_string(), name.clone()));
            }
        }
    }
    found
}

/// Reads `[[setup]]`; `None` when a step is wrong (each problem is reported). Fills in
/// `r.captures` as it goes, so each step's templates see the captures before it.
pub(super) fn read(r: &mut Reader<'_>, root: &Table<'_>) -> Option<Vec<SetupStep>> {
    let Some(field) = root.field("setup") else {
        return Some(Vec::new());
    };
    let tables = r.tables(&field, SETUP_KEYS, false)?;
    let mut steps = Vec::new();
    let mut names: HashSet<String> = HashSet::new();
    let mut ok = true;
    for t in tables {
        match step(r, &t, &mut names) {
            Some(step) => steps.push(step),
            None => ok = false,
        }
    }
    ok.then_some(steps)
}

/// One step: its name, request, statuses and captures.
fn step(r: &mut Reader<'_>, t: &Table<'_>, names: &mut HashSet<String>) -> Option<SetupStep> {
    let name = r
        .required(t, "name")
        .and_then(|f| r.string(&f, super::env::Context::Plain))
        .and_then(|name| {
            let value = name.value.trim().to_string();
            if value.is_empty() {
                r.error(
                    name.at,
                    "a [[setup]] step's name is empty",
                    "name each step, e.g. name = \"login\"".to_string(),
                );
                return None;
            }
            if !names.insert(value.clone()) {
                r.error(
                    name.at,
                    format!("two [[setup]] steps are named `{value}`"),
                    "step names must be unique: [auth] refresh names the step it re-runs"
                        .to_string(),
                );
                return None;
            }
            Some(value)
        });
    let request = request(r, t, Place::Setup, Some("POST"));
    let expect = t
        .field("expect")
        .map_or(Some(Vec::new()), |f| r.statuses(&f).map(|s| s.value));
    let secret = t.field("secret").map_or(Some(false), |f| r.boolean(&f));
    let captures = t.field("capture").map_or(Some(Vec::new()), |f| {
        captures(r, &f, secret.unwrap_or(false))
    });
    // The step's captures are placeholders for every later template, even when this
    // step is wrong, so one mistake is not reported again at every use.
    if let Some(f) = t.field("capture") {
        if let Some(map) = f.item.as_table_like() {
            for (key, _) in map.iter() {
                if !r.captures.iter().any(|c| c == key) {
                    r.captures.push(key.to_string());
                }
            }
        }
    }
    Some(SetupStep {
        name: name?,
        request: request?.template,
        expect: expect?,
        captures: captures?,
    })
}

/// `capture = { NAME = "LOCATOR", ... }`.
fn captures(r: &mut Reader<'_>, f: &Field<'_>, secret: bool) -> Option<Vec<Capture>> {
    let map = r.map(f)?;
    let entries = map.fields(r#"token = "json:/access_token""#);
    if entries.is_empty() {
        r.error(
            f.at,
            format!("{} captures nothing", f.describe()),
            "name each value and say where it is, e.g. capture = { token = \
             \"json:/access_token\" }"
                .to_string(),
        );
        return None;
    }
    let mut out = Vec::new();
    let mut ok = true;
    for entry in entries {
        if Var::from_name(entry.key).is_some() {
            r.error(
                entry.key_at,
                format!(
                    "capture `{}` would shadow the built-in placeholder {{{}}}",
                    entry.key, entry.key
                ),
                format!(
                    "give the capture another name, e.g. `{}_captured`",
                    entry.key
                ),
            );
            ok = false;
            continue;
        }
        if !is_capture_name(entry.key) {
            r.error(
                entry.key_at,
                format!("`{}` cannot be a capture's name", entry.key),
                "a capture's name is a letter or `_`, then letters, digits and `_` (it is \
                 used as {name})"
                    .to_string(),
            );
            ok = false;
            continue;
        }
        if r.captures.iter().any(|c| c == entry.key) {
            r.error(
                entry.key_at,
                format!("`{}` is captured by an earlier [[setup]] step", entry.key),
                "each capture is made by one step; give this one another name".to_string(),
            );
            ok = false;
            continue;
        }
        match locator(r, &entry) {
            Some(from) => {
                let secret = secret || matches!(from, super::model::Locator::Cookie(_));
                out.push(Capture {
                    name: entry.key.to_string(),
                    from,
                    secret,
                });
            }
            None => ok = false,
        }
    }
    ok.then_some(out)
}

#[cfg(test)]
mod tests {
    use crate::scenario::model::*;
    use crate::scenario::test_support::*;

    #[test]
    fn set_up_steps_run_in_order_and_their_captures_are_placeholders_later() {
        let s = parse(LOGIN).expect("valid");
        let names: Vec<&str> = s.setup.iter().map(|step| step.name.as_str()).collect();
        assert_eq!(names, ["login", "bucket"]);
        assert_eq!(
            s.setup[0].request.method, "POST",
            "a step posts unless it says"
        );
        assert_eq!(
            s.setup[0].captures,
            vec![Capture {
                name: "token".into(),
                from: Locator::Json("/access_token".into()),
                secret: true,
            }],
            "what [auth] sends is a secret"
        );
        assert_eq!(s.setup[1].expect, vec![201]);
        assert!(!s.setup[1].captures[0].secret, "a bucket's location is not");
        let Setup::CreateAt { id, .. } = &s.resource.setup else {
            panic!("expected CreateAt, got {:?}", s.resource.setup);
        };
        assert_eq!(id.captures().collect::<Vec<_>>(), ["bucket"]);
    }

    #[test]
    fn a_misspelt_capture_is_located_with_a_did_you_mean_that_knows_the_captures() {
        let text = LOGIN.replace("bearer = \"{token}\"", "bearer = \"{tokn}\"");
        let d = only_error(&text);
        assert!(
            d.message.contains("unknown placeholder `{tokn}`")
                && d.message.contains("the captures so far {token}, {bucket}"),
            "{}",
            d.message
        );
        assert_eq!(at(&d), position_of(&text, "\"{tokn}\""));
        assert!(
            d.hint
                .unwrap_or_default()
                .starts_with("did you mean `{token}`"),
            "the hint suggests the capture"
        );
    }

    #[test]
    fn a_capture_used_before_the_step_that_makes_it_is_told_which_step() {
        let text = LOGIN.replace(
            "json = { username = \"contend\", password = \"contend-secret\" }",
            "json = { username = \"contend\", password = \"contend-secret\", b = \"{bucket}\" }",
        );
        let d = only_error(&text);
        assert_eq!(
            d.message,
            "placeholder `{bucket}` in `json` in [setup[0]] is captured by the [[setup]] step \
             `bucket`, which runs after this one"
        );
        assert_eq!(at(&d), position_of(&text, "\"{bucket}\""));
    }

    #[test]
    fn a_capture_may_not_shadow_a_built_in_placeholder_nor_be_made_twice() {
        let text = LOGIN.replace("capture = { bucket =", "capture = { id =");
        let errors = errors(&text);
        assert_eq!(
            errors[0].message,
            "capture `id` would shadow the built-in placeholder {id}"
        );
        assert_eq!(
            at(&errors[0]),
            position_of(&text, "id = \"header:Location\"")
        );

        let text = LOGIN.replace("capture = { bucket =", "capture = { token =");
        let messages: Vec<String> = errors_of(&text);
        assert!(
            messages.contains(&"`token` is captured by an earlier [[setup]] step".to_string()),
            "{messages:#?}"
        );
    }

    fn errors_of(text: &str) -> Vec<String> {
        errors(text).into_iter().map(|d| d.message).collect()
    }

    #[test]
    fn step_names_are_required_and_unique() {
        let text = LOGIN.replace("name = \"bucket\"", "name = \"login\"");
        let d = only_error(&text);
        assert_eq!(d.message, "two [[setup]] steps are named `login`");
        let text = LOGIN.replace("name = \"bucket\"\n", "");
        let d = only_error(&text);
        assert_eq!(d.message, "missing required key `name` in [setup[1]]");
    }

    #[test]
    fn a_setup_written_as_one_table_or_with_a_bad_capture_is_located() {
        let text = LOGIN.replacen("[[setup]]", "[setup]", 1).replace(
            "[[setup]]\nname = \"bucket\"",
            "[setup.x]\nname = \"bucket\"",
        );
        let d = errors(&text).remove(0);
        assert_eq!(
            d.message,
            "wrong type for `setup` at the top level: expected an array of tables, found a table"
        );
        let text = LOGIN.replace("\"json:/access_token\"", "\"json/access_token\"");
        let d = only_error(&text);
        assert_eq!(
            d.message,
            "`json/access_token` is not a locator for `token` in [setup[0].capture]"
        );
        assert!(d
            .hint
            .unwrap_or_default()
            .starts_with("did you mean `json:`?"));
        let text = LOGIN.replace("capture = { token", "captures = { token");
        let messages = errors_of(&text);
        assert!(
            messages.contains(&"unknown key `captures` in [setup[0]]".to_string()),
            "{messages:#?}"
        );
    }
}
