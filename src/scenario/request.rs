//! Request tables and their templates: `[resource.create]`, `[resource.read]`, `[write]`.
//!
//! Every path, header value, query value, text body and JSON string leaf is a template;
//! each is parsed and its placeholders checked against where they have values (a create
//! runs before any exists, a read knows only `{id}`, a write knows them all). Locators,
//! which say where a value is in a response, are read here too.

use std::collections::HashSet;

use serde_json::Value as Json;

use super::env::Context;
use super::model::{Body, Filter, JsonTemplate, Locator, Part, RequestTemplate, Template, Var};
use super::reader::{did_you_mean, item_type, list_and, Field, Reader, Spanned, Table};
use super::workload::{names_where, WorkloadId};

const LOCATOR_HINT: &str = "write header:NAME for a response header (e.g. \"header:ETag\"), \
                            json:/pointer for a field of the JSON body (e.g. \"json:/version\"), \
                            regex:PATTERN for the first group of a regular expression over the \
                            body (e.g. 'regex:COUNT:(\\d+)') or cookie:NAME for a cookie the \
                            answer sets, optionally followed by |base64 to decode it";

/// Where a template is, which decides the placeholders that have values there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Place {
    /// Top-level headers and query, and `[auth]`: sent with every request.
    Headers,
    /// A `[[setup]]` step: it runs before any resource exists.
    Setup,
    /// `[resource] id`: fixed once the set-up steps have run.
    Id,
    Create(Option<WorkloadId>),
    /// `create` of a resource at a known `id`: `{id}` has a value there.
    CreateAt(Option<WorkloadId>),
    Read(Option<WorkloadId>),
    Write(Option<WorkloadId>),
}

impl Place {
    fn describe(self) -> &'static str {
        match self {
            Place::Headers => "top-level headers",
            Place::Setup => "a [[setup]] step",
            Place::Id => "`id` in [resource]",
            Place::Create(_) | Place::CreateAt(_) => "[resource.create]",
            Place::Read(_) => "[resource.read]",
            Place::Write(_) => "[write]",
        }
    }

    /// The workload whose request this is (`None` for the top-level headers, or while
    /// the workload is unknown).
    fn workload(self) -> Option<WorkloadId> {
        match self {
            Place::Headers | Place::Setup | Place::Id => None,
            Place::Create(k) | Place::CreateAt(k) | Place::Read(k) | Place::Write(k) => k,
        }
    }
}

/// Whether `var` has a value at `place`; if not, the message and hint.
///
/// A placeholder that only some workloads provide (the registry's
/// [`WorkloadRules::provides`](super::workload::WorkloadRules::provides)) is refused in
/// the others, naming those that provide it.
fn check_placeholder(place: Place, var: Var) -> Result<(), (String, String)> {
    let name = format!("{{{}}}", var.name());
    let providers = list_and(&names_where(|w| w.provides.contains(&var)));
    let available = match var {
        Var::Id => {
            "[resource.read] and [write] (and in create when [resource] sets `id`)".to_string()
        }
        Var::Value | Var::Next | Var::Target => format!("[write] of {providers} workloads"),
        Var::Version | Var::Writer | Var::Round | Var::Marker => "[write]".to_string(),
        Var::Unique => "[resource.create], [resource.read] and [write]".to_string(),
        Var::Units => {
            format!("[resource.create], [resource.read] and [write] of {providers} workloads")
        }
    };
    let id = place.workload();
    let workload_name = id.map_or("this", WorkloadId::name);
    let lacks = id.is_some_and(|id| !id.rules().provides_var(var));
    let has_units = id.is_some_and(|id| id.rules().provides.contains(&Var::Units));
    let why = match (place, var) {
        (Place::Headers, _) => "they are sent with every request, create included".to_string(),
        (Place::Setup, Var::Unique) => return Ok(()),
        (Place::Setup, _) => {
            "set-up steps run before any resource or writer, so they know only `{unique}` \
             and the captures of the steps before them"
                .to_string()
        }
        (Place::Id, Var::Unique) => return Ok(()),
        (Place::Id, _) => {
            "the id is fixed before the writers run, so it knows only `{unique}` and the \
             set-up steps' captures"
                .to_string()
        }
        (_, Var::Value | Var::Next) if lacks => {
            format!("this is a {workload_name} scenario, which reads no value")
        }
        (_, Var::Target) if lacks => {
            format!(
                "this is a {workload_name} scenario; writers have targets only in a {providers}"
            )
        }
        (_, Var::Units) if lacks => {
            format!(
                "this is a {workload_name} scenario; units are set only in a {providers} workload"
            )
        }
        (Place::Write(_), _) => return Ok(()),
        (Place::Read(_) | Place::Create(_) | Place::CreateAt(_), Var::Unique | Var::Units) => {
            return Ok(())
        }
        (Place::Read(_) | Place::CreateAt(_), Var::Id) => return Ok(()),
        (Place::Read(_), _) => {
            let units = if has_units { ", `{units}`" } else { "" };
            format!("a read knows only `{{id}}`{units} and `{{unique}}`")
        }
        (Place::Create(_), _) => {
            let units = if has_units { " and `{units}`" } else { "" };
            format!("create runs before any writer, so it knows only `{{unique}}`{units}")
        }
        (Place::CreateAt(_), _) => {
            let units = if has_units { ", `{units}`" } else { "" };
            format!(
                "create runs before any writer, so it knows only `{{id}}`{units} and `{{unique}}`"
            )
        }
    };
    let mut hint = format!("`{name}` is available in {available}");
    if place == Place::Headers {
        hint.push_str("; per-request headers go in that table's `headers`");
    }
    Err((
        format!(
            "placeholder `{name}` cannot be used in {}: {why}",
            place.describe()
        ),
        hint,
    ))
}

/// Parses an interpolated string as a template and checks its placeholders.
fn template(
    r: &mut Reader<'_>,
    text: &Spanned<String>,
    place: Place,
    what: &str,
) -> Option<Template> {
    let template = match Template::parse_open(&text.value) {
        Ok(template) => template,
        Err(e) => {
            let guess = misspelt_placeholder(&text.value, &r.captures)
                .map(|(wrong, right)| format!("did you mean `{{{right}}}` for `{{{wrong}}}`? "))
                .unwrap_or_default();
            r.error(
                text.at,
                format!("invalid template in {what}: {e}"),
                format!(
                    "{guess}placeholders look like {{id}}; write {{{{ and }}}} for literal braces"
                ),
            );
            return None;
        }
    };
    let mut ok = true;
    let mut seen_captures = HashSet::new();
    for name in template.captures() {
        if !seen_captures.insert(name) || r.captures.iter().any(|c| c == name) {
            continue;
        }
        ok = false;
        let later = r
            .all_captures
            .iter()
            .find(|(capture, _)| capture == name)
            .map(|(_, step)| step.clone());
        match later {
            Some(step) => r.error(
                text.at,
                format!(
                    "placeholder `{{{name}}}` in {what} is captured by the [[setup]] step \
                     `{step}`, which runs after this one"
                ),
                "a step can use only what the steps before it captured: move the step that \
                 captures it first"
                    .to_string(),
            ),
            None => {
                let captures: Vec<&str> = r.captures.iter().map(String::as_str).collect();
                let guess = misspelt_placeholder(&format!("{{{name}}}"), &r.captures)
                    .map(|(wrong, right)| format!("did you mean `{{{right}}}` for `{{{wrong}}}`? "))
                    .unwrap_or_default();
                r.error(
                    text.at,
                    format!(
                        "invalid template in {what}: {}",
                        super::template::unknown_placeholder(name, &captures)
                    ),
                    format!(
                        "{guess}placeholders look like {{id}}; a [[setup]] step's `capture` \
                         adds its own; write {{{{ and }}}} for literal braces"
                    ),
                );
            }
        }
    }
    let mut seen = HashSet::new();
    for var in template.vars() {
        if !seen.insert(var) {
            continue;
        }
        if let Err((message, hint)) = check_placeholder(place, var) {
            r.error(text.at, message, hint);
            ok = false;
        }
    }
    ok.then_some(template)
}

/// The first `{word}` in `text` that is neither a placeholder nor a capture but close to
/// one of them, and that one.
fn misspelt_placeholder<'t>(text: &'t str, captures: &[String]) -> Option<(&'t str, String)> {
    let mut names: Vec<&str> = Var::ALL.iter().map(|(_, name)| *name).collect();
    names.extend(captures.iter().map(String::as_str));
    text.split('{')
        .skip(1)
        .filter_map(|rest| rest.split_once('}').map(|(word, _)| word.trim()))
        .map(|word| word.split_once('|').map_or(word, |(name, _)| name.trim()))
        .filter(|word| Var::from_name(word).is_none() && !captures.iter().any(|c| c == word))
        .find_map(|word| did_you_mean(word, &names).map(|right| (word, right.to_string())))
}

/// A string field read as a template, its placeholders checked against `place`.
pub(super) fn string_template(r: &mut Reader<'_>, f: &Field<'_>, place: Place) -> Option<Template> {
    let text = r.string(f, Context::Template)?;
    template(r, &text, place, &f.describe())
}

/// A header value field (`bearer` in `[auth]`): a string template of one line.
pub(super) fn header_template(r: &mut Reader<'_>, f: &Field<'_>, place: Place) -> Option<Template> {
    let template = string_template(r, f, place)?;
    if has_control_character(&template) {
        r.error(
            f.at,
            format!("{} contains a control character", f.describe()),
            "header values are one line of visible text".to_string(),
        );
        return None;
    }
    Some(template)
}

/// The top-level `query`: a table of values, each percent-encoded when sent, or a
/// string sent exactly as written (a shared-access signature copied from a portal).
pub(super) fn shared_query(r: &mut Reader<'_>, f: &Field<'_>) -> Option<super::model::SharedQuery> {
    use super::model::SharedQuery;
    if f.item.is_table_like() {
        return query(r, f, Place::Headers).map(SharedQuery::Pairs);
    }
    if f.item.as_str().is_none() {
        r.wrong_type(f, "a query string or a table");
        return None;
    }
    let text = r.string(f, Context::Plain)?;
    let raw = text.value.trim().trim_start_matches('?').to_string();
    let bad = raw
        .chars()
        .find(|c| c.is_whitespace() || c.is_control() || matches!(c, '#' | '"' | '<' | '>'));
    if let Some(c) = bad {
        r.error(
            text.at,
            format!("the query string contains {c:?}, which a URL cannot carry as it is"),
            "write it percent-encoded, as a signature is given (`se=2099-12-31T23%3A59%3A59Z`), \
             or as a table whose values contend encodes: query = { se = \
             \"2099-12-31T23:59:59Z\" }"
                .to_string(),
        );
        return None;
    }
    if raw.is_empty() {
        r.error(
            text.at,
            "the query string is empty",
            format!("for example: {}", f.example),
        );
        return None;
    }
    Some(SharedQuery::Raw(raw))
}

/// A request table, read, with the placeholders it uses.
pub(super) struct Request {
    pub template: RequestTemplate,
    /// Placeholders anywhere in the request.
    pub vars: HashSet<Var>,
    /// Placeholders in the body.
    pub body_vars: HashSet<Var>,
    /// Where the body is written, if it is.
    pub body_at: Option<usize>,
}

/// Reads a request table's method, path, headers, query and body (the caller reads any
/// other keys); `default_method` is used when `method` is absent, else it is required.
pub(super) fn request(
    r: &mut Reader<'_>,
    t: &Table<'_>,
    place: Place,
    default_method: Option<&'static str>,
) -> Option<Request> {
    let method = match (t.field("method"), default_method) {
        (Some(f), _) => method(r, &f),
        (None, Some(default)) => Some(default.to_string()),
        (None, None) => {
            r.required(t, "method");
            None
        }
    };
    let path = r.required(t, "path").and_then(|f| path(r, &f, place));
    let headers = t
        .field("headers")
        .map_or(Some(Vec::new()), |f| headers(r, &f, place));
    let query = t
        .field("query")
        .map_or(Some(Vec::new()), |f| query(r, &f, place));
    let body = body(r, t, place);
    let (method, path, headers, query, (body, body_vars, body_at)) =
        (method?, path?, headers?, query?, body?);

    let mut vars: HashSet<Var> = path.vars().collect();
    for (_, template) in headers.iter().chain(&query) {
        vars.extend(template.vars());
    }
    vars.extend(&body_vars);
    Some(Request {
        template: RequestTemplate {
            method,
            path,
            query,
            headers,
            body,
        },
        vars,
        body_vars,
        body_at,
    })
}

fn method(r: &mut Reader<'_>, f: &Field<'_>) -> Option<String> {
    let text = r.string(f, Context::Plain)?;
    let method = text.value.trim();
    if is_token(method) {
        return Some(method.to_ascii_uppercase());
    }
    r.error(
        text.at,
        format!("`{method}` is not an HTTP method"),
        format!("for example: {}", f.example),
    );
    None
}

fn path(r: &mut Reader<'_>, f: &Field<'_>, place: Place) -> Option<Template> {
    let text = r.string(f, Context::Template)?;
    if text.value.trim().is_empty() {
        r.error(
            text.at,
            format!("{} is empty", f.describe()),
            format!("for example: {}", f.example),
        );
        return None;
    }
    template(r, &text, place, &f.describe())
}

/// A string entry of a free-form map (`headers`, `query`); other types are reported with
/// a hint showing the value quoted.
fn map_string(r: &mut Reader<'_>, f: &Field<'_>, what: &str) -> Option<Spanned<String>> {
    if f.item.as_str().is_none() {
        let shown = f
            .item
            .as_value()
            .filter(|v| !v.is_inline_table() && !v.is_array())
            .map(|v| v.to_string().trim().replace('"', "'"))
            .unwrap_or_else(|| "...".to_string());
        r.error(
            f.at,
            format!(
                "wrong type for {}: expected a string, found {}",
                f.describe(),
                item_type(f.item)
            ),
            format!("{what} values are strings: \"{}\" = \"{shown}\"", f.key),
        );
        return None;
    }
    r.string(f, Context::Template)
}

/// A `headers` table: valid, case-insensitively unique names and template values.
pub(super) fn headers(
    r: &mut Reader<'_>,
    f: &Field<'_>,
    place: Place,
) -> Option<Vec<(String, Template)>> {
    let map = r.map(f)?;
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    let mut ok = true;
    for entry in map.fields("") {
        if !is_token(entry.key) {
            r.error(
                entry.key_at,
                format!("`{}` is not a valid header name", entry.key),
                "header names are letters, digits and !#$%&'*+-.^_`|~ (no spaces or colons)"
                    .to_string(),
            );
            ok = false;
            continue;
        }
        if !seen.insert(entry.key.to_ascii_lowercase()) {
            r.error(
                entry.key_at,
                format!(
                    "header `{}` is set twice {} (header names ignore case)",
                    entry.key,
                    map.within()
                ),
                "keep one of them".to_string(),
            );
            ok = false;
        }
        let value = map_string(r, &entry, "header")
            .and_then(|text| template(r, &text, place, &entry.describe()));
        match value {
            Some(template) if has_control_character(&template) => {
                r.error(
                    entry.at,
                    format!(
                        "the value of header `{}` contains a control character",
                        entry.key
                    ),
                    "header values are one line of visible text".to_string(),
                );
                ok = false;
            }
            Some(template) => out.push((entry.key.to_string(), template)),
            None => ok = false,
        }
    }
    ok.then_some(out)
}

fn has_control_character(template: &Template) -> bool {
    template.parts.iter().any(|part| match part {
        Part::Literal(text) => text
            .chars()
            .any(|c| (c.is_control() && c != '\t') || c == '\u{7f}'),
        Part::Var(_) | Part::Filtered(..) | Part::Captured(..) => false,
    })
}

fn query(r: &mut Reader<'_>, f: &Field<'_>, place: Place) -> Option<Vec<(String, Template)>> {
    let map = r.map(f)?;
    let mut out = Vec::new();
    let mut ok = true;
    for entry in map.fields("") {
        let value = map_string(r, &entry, "query")
            .and_then(|text| template(r, &text, place, &entry.describe()));
        match value {
            Some(template) => out.push((entry.key.to_string(), template)),
            None => ok = false,
        }
    }
    ok.then_some(out)
}

/// The body (`json` or `body`, not both), its placeholders, and where it is written.
fn body(
    r: &mut Reader<'_>,
    t: &Table<'_>,
    place: Place,
) -> Option<(Body, HashSet<Var>, Option<usize>)> {
    let json_field = t.field("json");
    let text_field = t.field("body");
    let mut ok = true;
    if let (Some(_), Some(text)) = (&json_field, &text_field) {
        r.error(
            text.key_at,
            format!("`json` and `body` cannot both be set {}", t.within()),
            "a request has one body: keep `json` for JSON, or `body` for raw text".to_string(),
        );
        ok = false;
    }
    let json = json_field.as_ref().map(|f| json_body(r, f, place));
    let text = text_field.as_ref().map(|f| {
        r.string(f, Context::Template)
            .and_then(|s| template(r, &s, place, &f.describe()))
    });
    if !ok {
        return None;
    }
    match (json, text) {
        (Some(json), _) => {
            let (json, vars) = json?;
            Some((
                Body::Json(JsonTemplate::new(json)),
                vars,
                json_field.map(|f| f.at),
            ))
        }
        (None, Some(text)) => {
            let text = text?;
            let vars = text.vars().collect();
            Some((Body::Text(text), vars, text_field.map(|f| f.at)))
        }
        (None, None) => Some((Body::None, HashSet::new(), None)),
    }
}

fn json_body(r: &mut Reader<'_>, f: &Field<'_>, place: Place) -> Option<(Json, HashSet<Var>)> {
    let (json, leaves) = r.json(f)?;
    let mut vars = HashSet::new();
    let mut ok = true;
    for leaf in &leaves {
        match template(r, leaf, place, &f.describe()) {
            Some(template) => vars.extend(template.vars()),
            None => ok = false,
        }
    }
    ok.then_some((json, vars))
}

/// A locator: `header:NAME` or `json:/pointer`, optionally followed by `|FILTER` to
/// decode what is found (`json:/kvs/0/value|base64`).
pub(super) fn locator(r: &mut Reader<'_>, f: &Field<'_>) -> Option<Locator> {
    let text = r.string(f, Context::Plain)?;
    locator_text(r, &text, &f.describe())
}

/// A locator written as a string at `text.at`; `what` names it in messages.
///
/// A regular expression may contain `|` itself, so after `regex:` only a trailing
/// `|NAME` that names a filter is one.
pub(super) fn locator_text(
    r: &mut Reader<'_>,
    text: &Spanned<String>,
    what: &str,
) -> Option<Locator> {
    let value = text.value.trim();
    if let Some((inner, filter)) = value.rsplit_once('|') {
        let filter = filter.trim();
        let known_filter = Filter::from_name(filter);
        if value.starts_with("regex:") && known_filter.is_none() {
            return plain_locator(r, what, text);
        }
        let Some(filter) = known_filter else {
            let known: Vec<_> = Filter::ALL.iter().map(|(_, n)| format!("|{n}")).collect();
            r.error(
                text.at,
                format!("unknown filter `|{filter}` in locator `{value}`"),
                format!(
                    "the filters are {}; write e.g. \"json:/kvs/0/value|base64\"",
                    known.join(", ")
                ),
            );
            return None;
        };
        let inner = Spanned {
            value: inner.trim().to_string(),
            at: text.at,
        };
        return plain_locator(r, what, &inner).map(|l| Locator::Decoded(Box::new(l), filter));
    }
    plain_locator(r, what, text)
}

/// A locator without a filter; `what` names it in messages.
fn plain_locator(r: &mut Reader<'_>, what: &str, text: &Spanned<String>) -> Option<Locator> {
    let value = text.value.trim();
    if let Some(name) = value.strip_prefix("header:") {
        let name = name.trim();
        if is_token(name) {
            return Some(Locator::Header(name.into()));
        }
        let message = if name.is_empty() {
            "`header:` needs a header name".to_string()
        } else {
            format!("`{name}` is not a valid header name")
        };
        r.error(text.at, message, LOCATOR_HINT.to_string());
        return None;
    }
    if let Some(pattern) = value.strip_prefix("regex:") {
        return regex_locator(r, text.at, pattern);
    }
    if let Some(name) = value.strip_prefix("cookie:") {
        let name = name.trim();
        if is_token(name) && !name.contains('=') {
            return Some(Locator::Cookie(name.to_string()));
        }
        let message = if name.is_empty() {
            "`cookie:` needs a cookie name".to_string()
        } else {
            format!("`{name}` is not a valid cookie name")
        };
        r.error(text.at, message, LOCATOR_HINT.to_string());
        return None;
    }
    if let Some(pointer) = value.strip_prefix("json:") {
        if pointer.is_empty() || pointer.starts_with('/') {
            return Some(Locator::Json(pointer.to_string()));
        }
        r.error(
            text.at,
            format!("JSON pointer `{pointer}` must be empty or start with `/`"),
            format!("write json:/{pointer}"),
        );
        return None;
    }
    let written: String = value
        .chars()
        .take_while(|c| c.is_ascii_alphabetic())
        .collect::<String>()
        .to_ascii_lowercase();
    let guess = ["header:", "json:", "regex:", "cookie:"]
        .into_iter()
        .find(|prefix| {
            !written.is_empty() && strsim::jaro_winkler(&format!("{written}:"), prefix) >= 0.8
        })
        .map(|prefix| format!("did you mean `{prefix}`? "))
        .unwrap_or_default();
    r.error(
        text.at,
        format!("`{value}` is not a locator for {what}"),
        format!("{guess}{LOCATOR_HINT}"),
    );
    None
}

/// `regex:PATTERN`: the pattern must compile, and have at most one capture group that
/// counts (the first is what is found; without one, the whole match).
fn regex_locator(r: &mut Reader<'_>, at: usize, pattern: &str) -> Option<Locator> {
    if pattern.is_empty() {
        r.error(
            at,
            "`regex:` needs a pattern".to_string(),
            "for example: 'regex:COUNT:(\\d+)' finds the number after COUNT: in the body"
                .to_string(),
        );
        return None;
    }
    match regex::Regex::new(pattern) {
        Ok(compiled) => Some(Locator::Regex(super::model::Pattern(compiled))),
        Err(e) => {
            let why = e.to_string();
            let why = why.lines().last().unwrap_or("invalid").trim().to_string();
            r.error(
                at,
                format!("`{pattern}` is not a valid regular expression: {why}"),
                "the syntax is Rust's regex crate (like RE2): escape ( ) [ ] { } . * + ? \
                 with a backslash, and in a TOML \"basic string\" write \\\\d for \\d (or use \
                 a 'literal string')"
                    .to_string(),
            );
            None
        }
    }
}

/// An HTTP token (RFC 9110): what method and header names are made of.
fn is_token(text: &str) -> bool {
    !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c))
}

#[cfg(test)]
mod tests {
    use crate::scenario::test_support::*;

    #[test]
    fn json_and_body_together_are_an_error() {
        let text = STALE_WRITE.replace("[expect]", "body = \"{marker}\"\n\n[expect]");
        let d = only_error(&text);
        assert_eq!(d.message, "`json` and `body` cannot both be set in [write]");
        assert_eq!(at(&d), position_of(&text, "body = "));
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
    fn regex_and_cookie_locators_parse_and_a_regex_may_hold_a_bar() {
        use crate::scenario::model::Locator;
        let text = COUNTER.replace(
            "value = \"json:/count\"",
            "value = 'regex:COUNT:(\\d+|none)'",
        );
        let s = parse(&text).expect("valid");
        assert_eq!(
            s.resource.value.unwrap().to_string(),
            "regex:COUNT:(\\d+|none)"
        );
        let text = COUNTER.replace("value = \"json:/count\"", "value = 'regex:n=(\\S+)|base64'");
        let s = parse(&text).expect("valid");
        assert!(matches!(s.resource.value, Some(Locator::Decoded(..))));
        let text = COUNTER.replace("\"json:/version\"", "\"cookie:rev\"");
        let s = parse(&text).expect("valid");
        assert_eq!(s.resource.version, Some(Locator::Cookie("rev".into())));
    }

    #[test]
    fn a_bad_regex_or_cookie_locator_is_located_with_a_hint() {
        let text = COUNTER.replace("value = \"json:/count\"", "value = 'regex:COUNT:(\\d+'");
        let d = only_error(&text);
        assert!(
            d.message
                .starts_with("`COUNT:(\\d+` is not a valid regular expression"),
            "{}",
            d.message
        );
        assert_eq!(at(&d), position_of(&text, "'regex:"));
        assert!(d.hint.unwrap_or_default().contains("literal string"));

        let d = only_error(&COUNTER.replace("\"json:/version\"", "\"cookie:\""));
        assert_eq!(d.message, "`cookie:` needs a cookie name");
        let d = only_error(&COUNTER.replace("\"json:/version\"", "\"regx:v=(\\\\d+)\""));
        assert!(
            d.hint
                .unwrap_or_default()
                .starts_with("did you mean `regex:`?"),
            "a misspelt kind is named"
        );
    }

    #[test]
    fn a_shared_query_is_a_table_or_a_string_sent_as_written() {
        use crate::scenario::model::SharedQuery;
        let sas = "sv=2021-08-06&se=2099-12-31T23%3A59%3A59Z&sig=ab%2Fc%3D";
        let s = parse(&format!("query = \"?{sas}\"\n{STALE_WRITE}")).expect("valid");
        assert_eq!(s.query, Some(SharedQuery::Raw(sas.into())));
        let text = format!("query = \"sig=a b\"\n{STALE_WRITE}");
        let d = only_error(&text);
        assert_eq!(
            d.message,
            "the query string contains ' ', which a URL cannot carry as it is"
        );
        assert_eq!(at(&d), (1, 9));
        let d = only_error(&format!("query = 3\n{STALE_WRITE}"));
        assert_eq!(
            d.message,
            "wrong type for `query` at the top level: expected a query string or a table, found an integer"
        );
    }
}
