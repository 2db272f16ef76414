//! Placeholder templates: parsing `{id}`-style strings and rendering them per request.

use serde_json::Value;

use super::model::{Part, Template, Var};

/// The values placeholders take for one request. Unset values render as empty text.
#[derive(Debug, Clone, Default)]
pub struct Vars {
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
}

/// A JSON value as text the way a header or path wants it: strings bare, others as JSON.
pub fn value_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

impl Template {
    /// Parses `text`; the error says what is wrong with a placeholder.
    pub fn parse(text: &str) -> Result<Template, String> {
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
                    let name = &rest[..end];
                    let Some(var) = Var::from_name(name) else {
                        let known: Vec<_> =
                            Var::ALL.iter().map(|(_, n)| format!("{{{n}}}")).collect();
                        return Err(format!(
                            "unknown placeholder `{{{name}}}`; the placeholders are {}",
                            known.join(", ")
                        ));
                    };
                    if !literal.is_empty() {
                        parts.push(Part::Literal(std::mem::take(&mut literal)));
                    }
                    parts.push(Part::Var(var));
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

    /// The placeholders this template uses.
    pub fn vars(&self) -> impl Iterator<Item = Var> + '_ {
        self.parts.iter().filter_map(|p| match p {
            Part::Var(v) => Some(*v),
            Part::Literal(_) => None,
        })
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
            }
        }
        out
    }

    /// Renders as a JSON leaf: a lone placeholder keeps its type, anything else is a string.
    pub fn render_value(&self, vars: &Vars) -> Value {
        if let [Part::Var(v)] = self.parts.as_slice() {
            if let Some(value) = vars.get(*v) {
                return value;
            }
        }
        Value::String(self.render(vars))
    }
}

/// Renders a JSON body template: every string leaf is a template.
///
/// Leaves were checked when the scenario was loaded; a leaf that does not parse
/// (impossible after validation) is sent as written.
pub fn render_json(template: &Value, vars: &Vars) -> Value {
    match template {
        Value::String(s) => match Template::parse(s) {
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
    fn unclosed_and_stray_braces_are_errors() {
        assert!(Template::parse("{id").unwrap_err().contains("unclosed"));
        assert!(Template::parse("a}b").unwrap_err().contains("stray"));
    }
}
