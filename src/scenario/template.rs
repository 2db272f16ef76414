//! Placeholder templates: parsing `{id}`-style strings and rendering them per request.
//!
//! A placeholder may carry a filter that encodes its text before it is sent:
//! `{marker|base64}`. The same filters decode values found by a locator
//! (`json:/kvs/0/value|base64`), so what a write encodes, a read can decode.

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::{alphabet, Engine as _};
use serde_json::Value;

use super::model::{Filter, JsonPiece, JsonTemplate, Part, Template, Var};

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

    /// Writes the text of one placeholder (as [`value_text`] of [`Vars::get`] has it) to
    /// `out`; false, writing nothing, when it is unset.
    fn write_text(&self, var: Var, out: &mut impl std::fmt::Write) -> bool {
        let mut number = itoa::Buffer::new();
        let text = match var {
            Var::Id => self.id.as_deref(),
            Var::Marker => self.marker.as_deref(),
            Var::Unique => self.unique.as_deref(),
            Var::Target => self.target.as_deref(),
            Var::Writer => self.writer.map(|n| number.format(n)),
            Var::Round => self.round.map(|n| number.format(n)),
            Var::Units => self.units.map(|n| number.format(n)),
            Var::Value => self.value.map(|n| number.format(n)),
            Var::Next => self.value.map(|n| number.format(n.saturating_add(1))),
            Var::Version => {
                return match &self.version {
                    Some(version) => {
                        write_value_text(version, out);
                        true
                    }
                    None => false,
                }
            }
        };
        match text {
            Some(text) => {
                let _ = out.write_str(text);
                true
            }
            None => false,
        }
    }

    /// Writes one placeholder's typed value as JSON (what `Vars::get` would serialize
    /// to); false, writing nothing, when it is unset.
    fn write_json(&self, var: Var, out: &mut Vec<u8>) -> bool {
        let mut number = itoa::Buffer::new();
        let text = match var {
            Var::Id => self.id.as_deref(),
            Var::Marker => self.marker.as_deref(),
            Var::Unique => self.unique.as_deref(),
            Var::Target => self.target.as_deref(),
            Var::Version => {
                return match &self.version {
                    Some(version) => {
                        write_json_value(version, out);
                        true
                    }
                    None => false,
                }
            }
            Var::Writer | Var::Round | Var::Units | Var::Value | Var::Next => {
                let digits = match var {
                    Var::Writer => self.writer.map(|n| number.format(n)),
                    Var::Round => self.round.map(|n| number.format(n)),
                    Var::Units => self.units.map(|n| number.format(n)),
                    Var::Value => self.value.map(|n| number.format(n)),
                    _ => self.value.map(|n| number.format(n.saturating_add(1))),
                };
                return match digits {
                    Some(digits) => {
                        out.extend_from_slice(digits.as_bytes());
                        true
                    }
                    None => false,
                };
            }
        };
        match text {
            Some(text) => {
                write_json_value(text, out);
                true
            }
            None => false,
        }
    }
}

/// A JSON value as text the way a header or path wants it: strings bare, others as JSON.
pub fn value_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Writes [`value_text`] of `value` to `out` without building it first.
fn write_value_text(value: &Value, out: &mut impl std::fmt::Write) {
    let _ = match value {
        Value::String(s) => out.write_str(s),
        other => write!(out, "{other}"),
    };
}

/// Serializes `value` as compact JSON (as `Value`'s `Display` writes it) onto `out`.
fn write_json_value(value: &(impl serde::Serialize + ?Sized), out: &mut Vec<u8>) {
    // Writing into a `Vec` cannot fail, nor can serializing a string or a `Value`.
    let _ = serde_json::to_writer(out, value);
}

/// Text written into a JSON string: each piece is escaped by serde_json as it arrives,
/// so text rendered in parts is escaped exactly as the whole would be.
struct JsonStringContents<'a>(&'a mut Vec<u8>);

/// serde_json's compact formatter without the quotes around strings.
struct Unquoted;

impl serde_json::ser::Formatter for Unquoted {
    fn begin_string<W: ?Sized + std::io::Write>(&mut self, _: &mut W) -> std::io::Result<()> {
        Ok(())
    }

    fn end_string<W: ?Sized + std::io::Write>(&mut self, _: &mut W) -> std::io::Result<()> {
        Ok(())
    }
}

impl std::fmt::Write for JsonStringContents<'_> {
    fn write_str(&mut self, text: &str) -> std::fmt::Result {
        use serde::Serializer as _;
        let mut serializer = serde_json::Serializer::with_formatter(&mut *self.0, Unquoted);
        serializer.serialize_str(text).map_err(|_| std::fmt::Error)
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

    /// Whether this template uses a capture.
    pub fn uses_captures(&self) -> bool {
        self.captures().next().is_some()
    }

    /// Renders to text.
    pub fn render(&self, vars: &Vars) -> String {
        let mut out = String::new();
        self.render_to(vars, &mut out);
        out
    }

    /// Renders to text, written piece by piece to `out`.
    pub fn render_to(&self, vars: &Vars, out: &mut impl std::fmt::Write) {
        for part in &self.parts {
            match part {
                Part::Literal(s) => {
                    let _ = out.write_str(s);
                }
                Part::Var(v) => {
                    vars.write_text(*v, out);
                }
                Part::Filtered(v, filter) => {
                    let mut text = String::new();
                    if vars.write_text(*v, &mut text) {
                        let _ = out.write_str(&filter.encode(&text));
                    }
                }
                Part::Captured(name, filter) => {
                    if let Some(value) = vars.capture(name) {
                        match filter {
                            Some(filter) => {
                                let _ = out.write_str(&filter.encode(&value_text(value)));
                            }
                            None => write_value_text(value, out),
                        }
                    }
                }
            }
        }
    }

    /// Renders as a JSON leaf onto `out`, as [`Template::render_value`] serialized.
    fn render_json_leaf(&self, vars: &Vars, out: &mut Vec<u8>) {
        match self.parts.as_slice() {
            [Part::Var(v)] if vars.write_json(*v, out) => return,
            [Part::Captured(name, None)] => {
                if let Some(value) = vars.capture(name) {
                    return write_json_value(value, out);
                }
            }
            _ => {}
        }
        out.push(b'"');
        self.render_to(vars, &mut JsonStringContents(out));
        out.push(b'"');
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

/// Renders a JSON body template to a value: every string leaf is a template, parsed as
/// it is reached. Requests are rendered by [`JsonTemplate::render`], which writes this
/// value's serialized bytes from leaves parsed once.
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

impl JsonTemplate {
    /// Parses every string leaf of `source` once. A leaf that does not parse (impossible
    /// after validation) is sent as written, as [`render_json`] does.
    pub fn new(source: Value) -> JsonTemplate {
        let mut pieces = Vec::new();
        let mut json = Vec::new();
        compile(&source, &mut pieces, &mut json);
        flush(&mut pieces, &mut json);
        JsonTemplate { source, pieces }
    }

    /// Whether any leaf uses a capture.
    pub fn uses_captures(&self) -> bool {
        self.leaves().any(Template::uses_captures)
    }

    /// The string leaves that have placeholders.
    fn leaves(&self) -> impl Iterator<Item = &Template> + '_ {
        self.pieces.iter().filter_map(|p| match p {
            JsonPiece::Leaf(t) => Some(t),
            JsonPiece::Json(_) => None,
        })
    }

    /// Renders the body: the bytes of [`render_json`]'s value serialized, without
    /// building the value or parsing a leaf again.
    pub fn render(&self, vars: &Vars) -> Vec<u8> {
        // Serialized pieces, plus room for each leaf's value.
        let hint: usize = self
            .pieces
            .iter()
            .map(|p| match p {
                JsonPiece::Json(json) => json.len(),
                JsonPiece::Leaf(_) => 24,
            })
            .sum();
        let mut out = Vec::with_capacity(hint);
        for piece in &self.pieces {
            match piece {
                JsonPiece::Json(json) => out.extend_from_slice(json.as_bytes()),
                JsonPiece::Leaf(t) => t.render_json_leaf(vars, &mut out),
            }
        }
        out
    }
}

/// Serializes `value` onto `json`, cutting a piece at each string leaf with placeholders.
fn compile(value: &Value, pieces: &mut Vec<JsonPiece>, json: &mut Vec<u8>) {
    match value {
        Value::String(s) => match Template::parse_open(s) {
            Ok(t) if t.parts.iter().all(|p| matches!(p, Part::Literal(_))) => {
                // Rendered once and for all (`{{` is a literal brace).
                write_json_value(t.render(&Vars::default()).as_str(), json)
            }
            Ok(t) => {
                flush(pieces, json);
                pieces.push(JsonPiece::Leaf(t));
            }
            Err(_) => write_json_value(s.as_str(), json),
        },
        Value::Array(items) => {
            json.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    json.push(b',');
                }
                compile(item, pieces, json);
            }
            json.push(b']');
        }
        Value::Object(map) => {
            json.push(b'{');
            for (i, (key, item)) in map.iter().enumerate() {
                if i > 0 {
                    json.push(b',');
                }
                write_json_value(key.as_str(), json);
                json.push(b':');
                compile(item, pieces, json);
            }
            json.push(b'}');
        }
        other => write_json_value(other, json),
    }
}

/// Ends the serialized piece being written, if any.
fn flush(pieces: &mut Vec<JsonPiece>, json: &mut Vec<u8>) {
    if !json.is_empty() {
        // serde_json writes UTF-8 only.
        let text = String::from_utf8_lossy(json).into_owned();
        pieces.push(JsonPiece::Json(text));
        json.clear();
    }
}

/// The template compares as the JSON it was written as.
impl PartialEq<Value> for JsonTemplate {
    fn eq(&self, other: &Value) -> bool {
        self.source == *other
    }
}

/// A JSON template reads as the JSON it was written as.
impl std::ops::Deref for JsonTemplate {
    type Target = Value;

    fn deref(&self) -> &Value {
        &self.source
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

    /// The text rendering as it was before templates wrote their text piece by piece:
    /// each placeholder's typed value, then its text.
    fn rendered_from_values(t: &Template, vars: &Vars) -> String {
        let mut out = String::new();
        for part in &t.parts {
            let text = match part {
                Part::Literal(s) => Some(s.clone()),
                Part::Var(v) => vars.get(*v).map(|v| value_text(&v)),
                Part::Filtered(v, f) => vars.get(*v).map(|v| f.encode(&value_text(&v))),
                Part::Captured(name, f) => vars.capture(name).map(|v| match f {
                    Some(f) => f.encode(&value_text(v)),
                    None => value_text(v),
                }),
            };
            out.push_str(&text.unwrap_or_default());
        }
        out
    }

    /// Values that need escaping in JSON, numbers at their limits and unusual versions.
    fn awkward_vars() -> Vec<Vars> {
        let captured: std::sync::Arc<std::collections::BTreeMap<String, Value>> =
            std::sync::Arc::new(
                [
                    ("token".to_string(), json!("a\"b\\c\n\u{1}é😀")),
                    ("n".to_string(), json!(-12)),
                    ("obj".to_string(), json!({"k": ["v", 1.5, null]})),
                ]
                .into_iter()
                .collect(),
            );
        let mut all = vec![vars(), Vars::default()];
        for version in [
            json!("\"W/\\\"etag\\\"\""),
            json!(12),
            json!(-3),
            json!(2.5),
            json!(1e300),
            json!(u64::MAX),
            json!(null),
            json!(true),
            json!({"rev": "1-a\"b", "n": [1, 2]}),
        ] {
            all.push(Vars {
                captured: Some(captured.clone()),
                id: Some("/notes/\"q\"\\\t\u{7f}\u{2028}".into()),
                version: Some(version),
                writer: Some(u32::MAX),
                round: Some(0),
                marker: Some("<m>&'\r\n".into()),
                value: Some(i64::MAX),
                unique: Some("ü/\u{0}".into()),
                target: Some(String::new()),
                units: Some(7),
            });
        }
        all.push(Vars {
            value: Some(i64::MIN),
            version: Some(json!("")),
            ..Vars::default()
        });
        all
    }

    /// Templates using every placeholder, filtered or not, captures, and literal braces.
    const TEMPLATES: [&str; 8] = [
        "{id}{version}{writer}{round}{marker}{value}{next}{unique}{target}{units}",
        "{id|base64}-{version|base64}-{next|base64}-{marker|base64}",
        "x{{{version}}}y \"q\" \\",
        "{token}/{n}/{obj}/{token|base64}/{obj|base64}",
        "{missing}{missing|base64}",
        "{{}}",
        "",
        "plain é \u{1}",
    ];

    #[test]
    fn a_template_renders_the_text_its_placeholders_values_have() {
        for vars in awkward_vars() {
            for text in TEMPLATES {
                let t = Template::parse_open(text).unwrap();
                assert_eq!(t.render(&vars), rendered_from_values(&t, &vars), "{text}");
            }
        }
    }

    #[test]
    fn a_parsed_json_template_renders_the_bytes_of_the_rendered_value() {
        let mut bodies = vec![
            json!({"count": "{next}", "by": "{marker}"}),
            json!({"version": "{version}", "text": "v{version}-{marker}", "n": 1, "f": 1.5}),
            json!([
                "{id}",
                "{writer}",
                "{round}",
                "{value}",
                "{units}",
                "{unique}",
                "{target}",
                "{token}",
                "{n}",
                "{obj}",
                "{token|base64}",
                "{missing}",
                "{version|base64}",
                null,
                true,
                false,
                -1,
                1e-7,
                [],
                {},
                [[{}]]
            ]),
            json!({"k\"ey\n": {"nested": ["{{literal}}", "{{", "a{{b}}c", "{unclosed", "}"]}}),
            json!("{version}"),
            json!("no placeholders \"here\""),
            json!(42),
            json!(null),
            json!({"é😀\u{1}": "{id}{id}", "": "", "z": {"y": {"x": "{marker|base64}"}}}),
        ];
        bodies.extend(TEMPLATES.iter().map(|t| json!({ "leaf": t })));
        for vars in awkward_vars() {
            for body in &bodies {
                let template = JsonTemplate::new(body.clone());
                let rendered = template.render(&vars);
                let expected = render_json(body, &vars).to_string();
                assert_eq!(String::from_utf8(rendered).unwrap(), expected, "{body}");
            }
        }
    }

    #[test]
    fn a_parsed_json_template_reads_and_compares_as_the_json_written() {
        let body = json!({"count": "{next}"});
        let template = JsonTemplate::new(body.clone());
        assert!(template == body);
        assert_eq!(template["count"], "{next}");
        assert!(!template.uses_captures());
        assert!(JsonTemplate::new(json!(["{token}"])).uses_captures());
    }

    #[test]
    fn unclosed_and_stray_braces_are_errors() {
        assert!(Template::parse("{id").unwrap_err().contains("unclosed"));
        assert!(Template::parse("a}b").unwrap_err().contains("stray"));
    }
}
