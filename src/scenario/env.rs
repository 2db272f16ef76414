//! Environment interpolation in scenario strings: `${NAME}`, `${NAME:-default}`, `$$`.
//!
//! Interpolation runs on every string value before anything else reads it, so a target,
//! a token or a path can come from the environment. Values that did come from the
//! environment are reported back as secrets, to be redacted from everything printed.

/// A string after interpolation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Interpolated {
    pub text: String,
    /// The non-empty values taken from the environment (defaults are not secret).
    pub secrets: Vec<String>,
}

/// Why a string could not be interpolated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EnvError {
    pub message: String,
    pub hint: String,
}

/// How an interpolated string will be read next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Context {
    /// Plain text: values are inserted as they are.
    Plain,
    /// A template: braces in environment values are doubled, so a value is always data,
    /// never a placeholder. (Defaults are written in the file and stay as written.)
    Template,
}

const SYNTAX_HINT: &str = "write ${NAME} or ${NAME:-default}; write $$ for a literal $";

/// Replaces `${NAME}`, `${NAME:-default}` and `$$` in `text`, looking names up with `env`.
///
/// `${NAME:-default}` takes the default when `NAME` is unset or empty; a default may
/// contain balanced braces (`${P:-/notes/{id}}`). A `$` followed by anything else is
/// literal. Every problem in the string is returned, not just the first.
pub(crate) fn interpolate(
    text: &str,
    env: &dyn Fn(&str) -> Option<String>,
    context: Context,
) -> Result<Interpolated, Vec<EnvError>> {
    let mut out = String::with_capacity(text.len());
    let mut secrets = Vec::new();
    let mut errors = Vec::new();
    let mut rest = text;
    while let Some(dollar) = rest.find('$') {
        out.push_str(&rest[..dollar]);
        let after = &rest[dollar + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
            continue;
        }
        let Some(expr) = after.strip_prefix('{') else {
            out.push('$');
            rest = after;
            continue;
        };
        let name_len = expr
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(expr.len());
        let name = &expr[..name_len];
        let tail = &expr[name_len..];
        let shown = shown_expression(rest, dollar);
        if name.is_empty() {
            errors.push(EnvError {
                message: format!("`{shown}` does not name an environment variable"),
                hint: SYNTAX_HINT.into(),
            });
            rest = skip_expression(tail);
            continue;
        }
        if let Some(tail) = tail.strip_prefix('}') {
            match env(name) {
                Some(value) => insert(&mut out, &mut secrets, value, context),
                None => errors.push(EnvError {
                    message: format!("environment variable {name} is not set"),
                    hint: format!("export {name}=... or give a default: ${{{name}:-value}}"),
                }),
            }
            rest = tail;
        } else if let Some(default_and_tail) = tail.strip_prefix(":-") {
            let Some(end) = closing_brace(default_and_tail) else {
                errors.push(EnvError {
                    message: format!("unclosed `${{{name}:-` in `{text}`"),
                    hint: SYNTAX_HINT.into(),
                });
                break;
            };
            match env(name).filter(|v| !v.is_empty()) {
                Some(value) => insert(&mut out, &mut secrets, value, context),
                None => out.push_str(&default_and_tail[..end]),
            }
            rest = &default_and_tail[end + 1..];
        } else if tail.is_empty() {
            errors.push(EnvError {
                message: format!("unclosed `${{{name}` in `{text}`"),
                hint: SYNTAX_HINT.into(),
            });
            rest = "";
        } else {
            errors.push(EnvError {
                message: format!(
                    "`{shown}` is not a valid environment reference: \
                     a name is letters, digits and `_`, followed by `}}` or `:-default}}`"
                ),
                hint: SYNTAX_HINT.into(),
            });
            rest = skip_expression(tail);
        }
    }
    out.push_str(rest);
    if errors.is_empty() {
        Ok(Interpolated { text: out, secrets })
    } else {
        Err(errors)
    }
}

/// Appends an environment value, escaping braces in template context.
fn insert(out: &mut String, secrets: &mut Vec<String>, value: String, context: Context) {
    match context {
        Context::Plain => out.push_str(&value),
        Context::Template => out.push_str(&value.replace('{', "{{").replace('}', "}}")),
    }
    if !value.is_empty() {
        secrets.push(value);
    }
}

/// The byte index of the `}` that closes a default, counting nested braces.
fn closing_brace(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    for (i, c) in text.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => return Some(i),
            '}' => depth -= 1,
            _ => {}
        }
    }
    None
}

/// What follows a malformed `${...`: past its `}`, or nothing if there is none.
fn skip_expression(tail: &str) -> &str {
    tail.find('}').map_or("", |i| &tail[i + 1..])
}

/// The `${...}` expression starting at `dollar` in `text`, for messages.
fn shown_expression(text: &str, dollar: usize) -> &str {
    let from = &text[dollar..];
    from.find('}').map_or(from, |i| &from[..=i])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "TOKEN" => Some("s3cret".into()),
            "EMPTY" => Some(String::new()),
            "BRACES" => Some("a{b}c".into()),
            _ => None,
        }
    }

    fn plain(text: &str) -> Result<Interpolated, Vec<EnvError>> {
        interpolate(text, &env, Context::Plain)
    }

    #[test]
    fn replaces_set_variables_and_reports_them_as_secrets() {
        let got = plain("Bearer ${TOKEN}").unwrap();
        assert_eq!(got.text, "Bearer s3cret");
        assert_eq!(got.secrets, vec!["s3cret".to_string()]);
    }

    #[test]
    fn default_applies_when_unset_or_empty_and_is_not_a_secret() {
        assert_eq!(plain("${NOPE:-builtin}").unwrap().text, "builtin");
        let got = plain("${EMPTY:-x}").unwrap();
        assert_eq!(got.text, "x");
        assert!(got.secrets.is_empty());
        assert_eq!(plain("${TOKEN:-x}").unwrap().text, "s3cret");
    }

    #[test]
    fn defaults_may_hold_braces_and_may_be_empty() {
        assert_eq!(plain("${P:-/notes/{id}}!").unwrap().text, "/notes/{id}!");
        assert_eq!(plain("<${P:-}>").unwrap().text, "<>");
    }

    #[test]
    fn double_dollar_is_a_literal_dollar_and_lone_dollars_stay() {
        assert_eq!(
            plain("$${TOKEN} costs $5 $").unwrap().text,
            "${TOKEN} costs $5 $"
        );
    }

    #[test]
    fn unset_variable_is_an_error_suggesting_export_or_default() {
        let errors = plain("Bearer ${API_TOKEN}").unwrap_err();
        assert_eq!(errors.len(), 1);
        assert_eq!(
            errors[0].message,
            "environment variable API_TOKEN is not set"
        );
        assert_eq!(
            errors[0].hint,
            "export API_TOKEN=... or give a default: ${API_TOKEN:-value}"
        );
    }

    #[test]
    fn every_problem_in_a_string_is_reported() {
        let errors = plain("${A}/${B}/${}").unwrap_err();
        assert_eq!(errors.len(), 3, "{errors:?}");
    }

    #[test]
    fn malformed_references_are_errors() {
        assert!(plain("${TOKEN").is_err());
        assert!(plain("${X:-abc").is_err());
        let bad = plain("${A-B}").unwrap_err();
        assert!(bad[0].message.contains("`${A-B}`"), "{bad:?}");
    }

    #[test]
    fn template_context_escapes_braces_from_the_environment_only() {
        let got = interpolate("{id}/${BRACES}", &env, Context::Template).unwrap();
        assert_eq!(got.text, "{id}/a{{b}}c");
        assert_eq!(got.secrets, vec!["a{b}c".to_string()]);
    }
}
