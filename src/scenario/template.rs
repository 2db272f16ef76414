//! Placeholder templates: parsing `{id}`-style strings and rendering them per request.
//!
//! A placeholder may carry a filter that encodes its text before it is sent:
//! `{marker|base64}`. The same filters decode values found by a locator
//! (`json:/kvs/0/value|base64`), so what a write encodes, a read can decode.

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::{alphabet, Engine as _};
use serde_json::Value;

use super::model::{Filter, Part, Template, Var};

/// Standard base64 that encodes with padding and decodes with or without it.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

impl Filter {
    /// Encodes a placeholder's text.
    pub fn encode(self, text: &str) -> String {
        match self {
            Filter::Base64 => BASE64.encode(text.as_bytes()),
        }
    }

    /// Decodes a located value back to text; `None` when it is not this encoding of
    /// UTF-8 text.
    pub fn decode(self, text: &str) -> Option<String> {
        match self {
            Filter::Base64 => BASE64
                .decode(text.trim().as_bytes())
                .ok()
                .and_then(|bytes| String::from_utf8(bytes).ok()),
        }
    }
}

/// The values placeholders take for one request. Unset values render as empty text.
#[derive(Debug, Clone, Default)]
pub struct Vars {
    /// The set-up steps' captures by name (filled in by the engine's request builder).
    pub captured: Option<std::sync::Arc<std::collections::BTreeMap<String, Value>>>,
    pub id: Option<String>,
    pub version: Option<Value>,
    pub writer: Option<u32>,
    pub round: Option<u32>,
    pub marker: Option<String>,
    pub value: Option<i64>,
    pub unique: Option<String>,
    pub target: Option<String>,
    pub units: Option<u32>,
}

impl Vars {
    /// The typed value of one placeholder, if set.
    pub fn get(&self, var: Var) -> Option<Value> {
        match var {
            Var::Id => self.id.clone().map(Value::String),
            Var::Version => self.version.clone(),
            Var::Writer => self.writer.map(Value::from),
            Var::Round => self.round.map(Value::from),
            Var::Marker => self.marker.clone().map(Value::String),
            Var::Value => self.value.map(Value::from),
            Var::Next => self.value.map(|v| Value::from(v.saturating_add(1))),
            Var::Unique => self.unique.clone().map(Value::String),
            Var::Target => self.target.clone().map(Value::String),
            Var::Units => self.units.map(Value::from),
        }
    }

    /// The value a set-up step captured under `name`, if it has been captured.
    pub fn capture(&self, name: &str) -> Option<&Value> {
        self.captured.as_ref()?.get(name)
    }
}

/// A JSON value as text the way a header or path wants it: strings bare, others as JSON.
pub fn value_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

impl Template {
    /// Parses `text` whose placeholders are all built-in ones; the error says what is
    /// wrong with a placeholder.
    pub fn parse(text: &str) -> Result<Template, String> {
        let template = Template::parse_open(text)?;
        if let Some(name) = template.captures().next() {
            return Err(unknown_placeholder(name, &[]));
        }
        Ok(template)
    }

    /// Parses `text`, taking a `{name}` that is no built-in placeholder for a capture
    /// (the parser then checks that a set-up step captures it).
    pub fn parse_open(text: &str) -> Result<Template, String> {
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut chars = text.char_indices().peekable();
        while let Some((at, c)) = chars.next() {
            match c {
                '{' if chars.peek().map(|(_, c)| *c) == Some('{') => {
                    chars.next();
                    literal.push('{');
                }
                '}' if chars.peek().map(|(_, c)| *c) == Some('}') => {
                    chars.next();
                    literal.push('}');
                }
                '{' => {
                    let rest = &text[at + 1..];
                    let Some(end) = rest.find('}') else {
                        return Err(format!(
                            "unclosed placeholder at `{}`: write `{{name}}`, or `{{{{` for a literal brace",
                            &text[at..]
                        ));
                    };
                    let (name, filter) = match rest[..end].split_once('|') {
                        Some((name, filter)) => (name, Some(filter)),
                        None => (&rest[..end], None),
                    };
                    let filter = match filter {
                        None => None,
                        Some(filter) => match Filter::from_name(filter) {
                            Some(filter) => Some(filter),
                            None => {
                                let known: Vec<_> =
                                    Filter::ALL.iter().map(|(_, n)| format!("|{n}")).collect();
                                return Err(format!(
                                    "unknown filter `|{filter}` in `{{{name}|{filter}}}`; the filters are {}",
                                    known.join(", ")
                                ));
                            }
                        },
                    };
                    let part = match (Var::from_name(name), filter) {
                        (Some(var), None) => Part::Var(var),
                        (Some(var), Some(filter)) => Part::Filtered(var, filter),
                        (None, _) if is_capture_name(name) => {
                            Part::Captured(name.to_string(), filter)
                        }
                        (None, _) => return Err(unknown_placeholder(name, &[])),
                    };
                    if !literal.is_empty() {
                        parts.push(Part::Literal(std::mem::take(&mut literal)));
                    }
                    parts.push(part);
                    for _ in 0..=end {
                        chars.next();
                    }
                }
                '}' => {
                    return Err(format!(
                        "stray `}}` in `{text}`: write `}}}}` for a literal brace"
                    ))
                }
                c => literal.push(c),
            }
        }
        if !literal.is_empty() {
            parts.push(Part::Literal(literal));
        }
        Ok(Template { parts })
    }

    /// A template with no placeholders.
    pub fn literal(text: &str) -> Template {
        Template {
            parts: vec![Part::Literal(text.to_string())],
        }
    }

    /// The built-in placeholders this template uses, filtered or not.
    pub fn vars(&self) -> impl Iterator<Item = Var> + '_ {
        self.parts.iter().filter_map(|p| match p {
            Part::Var(v) | Part::Filtered(v, _) => Some(*v),
            Part::Literal(_) | Part::Captured(..) => None,
        })
    }

    /// The captures this template uses, by name.
    pub fn captures(&self) -> impl Iterator<Item = &str> + '_ {
        self.parts.iter().filter_map(|p| match p {
            Part::Captured(name, _) => Some(name.as_str()),
            Part::Literal(_) | Part::Var(_) | Part::Filtered(..) => None,
        })
    }

    /// Whether every capture this template uses has a value in `vars`.
    pub fn captures_ready(&self, vars: &Vars) -> bool {
        self.captures().all(|name| vars.capture(name).is_some())
    }

    /// Renders to text.
    pub fn render(&self, vars: &Vars) -> String {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Literal(s) => out.push_str(s),
                Part::Var(v) => {
                    if let Some(value) = vars.get(*v) {
                        out.push_str(&value_text(&value));
                    }
                }
                Part::Filtered(v, filter) => {
                    if let Some(value) = vars.get(*v) {
                        out.push_str(&filter.encode(&value_text(&value)));
                    }
                }
                Part::Captured(name, filter) => {
                    if let Some(value) = vars.capture(name) {
                        let text = value_text(value);
                        match filter {
                            Some(filter) => out.push_str(&filter.encode(&text)),
                            None => out.push_str(&text),
                        }
                    }
                }
            }
        }
        out
    }

    /// Renders as a JSON leaf: a lone placeholder keeps its type, anything else (a
    /// filtered placeholder included) is a string.
    pub fn render_value(&self, vars: &Vars) -> Value {
        match self.parts.as_slice() {
            [Part::Var(v)] => {
                if let Some(value) = vars.get(*v) {
                    return value;
                }
            }
            [Part::Captured(name, None)] => {
                if let Some(value) = vars.capture(name) {
                    return value.clone();
                }
            }
            _ => {}
        }
        Value::String(self.render(vars))
    }
}

/// Whether `name` can be a capture's name: a letter or `_`, then letters, digits and `_`.
pub fn is_capture_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The message for a placeholder that is neither built in nor captured (`captures`: the
/// names captured so far).
pub fn unknown_placeholder(name: &str, captures: &[&str]) -> String {
    let known: Vec<_> = Var::ALL.iter().map(|(_, n)| format!("{{{n}}}")).collect();
    let mut message = format!(
        "unknown placeholder `{{{name}}}`; the placeholders are {}",
        known.join(", ")
    );
    if !captures.is_empty() {
        let captured: Vec<String> = captures.iter().map(|c| format!("{{{c}}}")).collect();
        message.push_str(&format!(
            ", and the captures so far {}",
            captured.join(", ")
        ));
    }
    message
}

/// Renders a JSON body template: every string leaf is a template.
///
/// Leaves were checked when the scenario was loaded; a leaf that does not parse
/// (impossible after validation) is sent as written.
pub fn render_json(template: &Value, vars: &Vars) -> Value {
    match template {
        Value::String(s) => match Template::parse_open(s) {
            Ok(t) => t.render_value(vars),
            Err(_) => Value::String(s.clone()),
        },
        Value::Array(items) => Value::Array(items.iter().map(|v| render_json(v, vars)).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), render_json(v, vars)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Every placeholder used in a JSON body template, or the first parse error.
pub fn json_vars(template: &Value) -> Result<Vec<Var>, String> {
    let mut out = Vec::new();
    match template {
        Value::String(s) => out.extend(Template::parse(s)?.vars()),
        Value::Array(items) => {
            for v in items {
                out.extend(json_vars(v)?);
            }
        }
        Value::Object(map) => {
            for v in map.values() {
                out.extend(json_vars(v)?);
            }
        }
        _ => {}
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn vars() -> Vars {
        Vars {
            captured: None,
            id: Some("/notes/7".into()),
            version: Some(json!(3)),
            writer: Some(2),
            round: Some(5),
            marker: Some("m-1".into()),
            value: Some(41),
            unique: Some("u1".into()),
            target: Some("shipped".into()),
            units: Some(3),
        }
    }

    #[test]
    fn renders_text_with_literal_braces() {
        let t = Template::parse("{id}?w={writer}&r={round} {{x}}").unwrap();
        assert_eq!(t.render(&vars()), "/notes/7?w=2&r=5 {x}");
    }

    #[test]
    fn renders_unique_target_and_units() {
        let t = Template::parse("{unique}@example.com/{target}").unwrap();
        assert_eq!(t.render(&vars()), "u1@example.com/shipped");
        let body = json!({"stock": "{units}", "to": "{target}"});
        assert_eq!(
            render_json(&body, &vars()),
            json!({"stock": 3, "to": "shipped"})
        );
    }

    #[test]
    fn lone_placeholder_in_json_keeps_its_type() {
        let body =
            json!({"version": "{version}", "count": "{next}", "text": "v{version}-{marker}"});
        assert_eq!(
            render_json(&body, &vars()),
            json!({"version": 3, "count": 42, "text": "v3-m-1"})
        );
    }

    #[test]
    fn unknown_placeholder_is_an_error_naming_the_known_ones() {
        let err = Template::parse("{verison}").unwrap_err();
        assert!(err.contains("unknown placeholder `{verison}`"), "{err}");
        assert!(err.contains("{version}"), "{err}");
    }

    #[test]
    fn a_filtered_placeholder_is_sent_encoded_and_as_a_string() {
        let t = Template::parse("{marker|base64}").unwrap();
        assert_eq!(t.vars().collect::<Vec<_>>(), vec![Var::Marker]);
        assert_eq!(t.render(&vars()), "bS0x");
        let body = json!({"value": "{next|base64}", "key": "k/{id|base64}"});
        assert_eq!(
            render_json(&body, &vars()),
            json!({"value": "NDI=", "key": "k/L25vdGVzLzc="})
        );
    }

    #[test]
    fn an_unknown_filter_is_an_error_naming_the_known_ones() {
        let err = Template::parse("{marker|hex}").unwrap_err();
        assert!(
            err.contains("unknown filter `|hex` in `{marker|hex}`; the filters are |base64"),
            "{err}"
        );
        let err = Template::parse("{makrer|base64}").unwrap_err();
        assert!(err.contains("unknown placeholder `{makrer}`"), "{err}");
    }

    #[test]
    fn base64_decodes_what_it_encodes_with_or_without_padding_and_refuses_the_rest() {
        let encoded = Filter::Base64.encode("contend/stale-write");
        assert_eq!(encoded, "Y29udGVuZC9zdGFsZS13cml0ZQ==");
        assert_eq!(
            Filter::Base64.decode(&encoded).as_deref(),
            Some("contend/stale-write")
        );
        assert_eq!(
            Filter::Base64
                .decode("Y29udGVuZC9zdGFsZS13cml0ZQ")
                .as_deref(),
            Some("contend/stale-write")
        );
        assert_eq!(Filter::Base64.decode("not base64!"), None);
        // Valid base64, but not of UTF-8 text.
        assert_eq!(Filter::Base64.decode("//79"), None);
    }

    #[test]
    fn unclosed_and_stray_braces_are_errors() {
        assert!(Template::parse("{id").unwrap_err().contains("unclosed"));
        assert!(Template::parse("a}b").unwrap_err().contains("stray"));
    }
}
