//! `[auth]`: how every request authenticates, as one table.
//!
//! - `basic = { user = "${USER}", password = "${PASSWORD}" }`: `Authorization: Basic`,
//!   which contend encodes itself (RFC 7617), so no wrapper pre-encodes `user:pass`;
//! - `bearer = "${TOKEN}"`, or a login step's capture (`bearer = "{token}"`):
//!   `Authorization: Bearer` (RFC 6750);
//! - `refresh = { every = "50s", on = [401], step = "login" }`: run the login step again
//!   when the token is about to expire during a long run (before a round, once `every`
//!   has passed) or when a request outside the race is refused with a status in `on`
//!   (that request is then sent once more). The step defaults to the one that captures
//!   what `bearer` sends. A raced write is never re-sent: a 401 there is an unexpected
//!   answer, reported with its cause;
//! - `cookies = true`: cookies are kept, per connection (see the engine's `cookies.rs`).
//!
//! Every value `[auth]` sends is a secret: the encoded Basic credentials are registered
//! with the scenario's secrets, and the captures `bearer` uses are marked secret on their
//! step, so each value is redacted (`***`) from everything written.

use base64::Engine as _;

use super::env::Context;
use super::keys::{AUTH_KEYS, BASIC_KEYS, REFRESH_KEYS};
use super::model::{Auth, Credentials, Refresh, SetupStep, Template};
use super::reader::{did_you_mean, list_and, Field, Reader, Table};
use super::request::{header_template, Place};

/// Reads `[auth]` against the set-up steps, and marks the captures it sends as secret.
pub(super) fn read(
    r: &mut Reader<'_>,
    root: &Table<'_>,
    steps: Option<&mut Vec<SetupStep>>,
) -> Option<Auth> {
    let Some(field) = root.field("auth") else {
        return Some(Auth::default());
    };
    let t = r.table(&field, AUTH_KEYS)?;
    let basic = t.field("basic").map(|f| basic(r, &f));
    let bearer = t
        .field("bearer")
        .map(|f| header_template(r, &f, Place::Headers));
    let cookies = t.field("cookies").map_or(Some(false), |f| r.boolean(&f));
    if let (Some(_), Some(Some(_))) = (&basic, &bearer) {
        let at = t.field("bearer").map_or(field.at, |f| f.key_at);
        r.error(
            at,
            "`basic` and `bearer` cannot both be set in [auth]",
            "a request carries one Authorization header: keep one of them".to_string(),
        );
        return None;
    }
    let sets_authorization = root
        .field("headers")
        .and_then(|f| {
            f.item.as_table_like().map(|t| {
                t.iter()
                    .any(|(k, _)| k.eq_ignore_ascii_case("authorization"))
            })
        })
        .unwrap_or(false);
    if sets_authorization && (basic.is_some() || bearer.is_some()) {
        let at = t
            .field("basic")
            .or_else(|| t.field("bearer"))
            .map_or(field.at, |f| f.key_at);
        r.error(
            at,
            "the top-level `headers` set Authorization, and so does [auth]",
            "a request carries one Authorization header: keep [auth] (it encodes Basic \
             credentials and refreshes tokens) and remove the header"
                .to_string(),
        );
        return None;
    }
    let credentials = match (basic, bearer) {
        (Some(basic), _) => Some(Some(basic?)),
        (None, Some(bearer)) => Some(Some(Credentials::Bearer(bearer?))),
        (None, None) => Some(None),
    };
    let bearer_captures: Vec<String> = match &credentials {
        Some(Some(Credentials::Bearer(template))) => {
            template.captures().map(str::to_string).collect()
        }
        _ => Vec::new(),
    };
    let step_names: Vec<String> = steps
        .as_ref()
        .map(|s| s.iter().map(|step| step.name.clone()).collect())
        .unwrap_or_default();
    let refresh = t.field("refresh").map_or(Some(None), |f| {
        refresh(r, &f, steps.as_deref(), &step_names, &bearer_captures).map(Some)
    });
    if let Some(steps) = steps {
        for capture in steps.iter_mut().flat_map(|s| s.captures.iter_mut()) {
            if bearer_captures.contains(&capture.name) {
                capture.secret = true;
            }
        }
    }
    Some(Auth {
        credentials: credentials?,
        refresh: refresh?,
        cookies: cookies?,
    })
}

/// `basic = { user, password }`; the encoded credentials become a secret.
fn basic(r: &mut Reader<'_>, f: &Field<'_>) -> Option<Credentials> {
    let t = r.table(f, BASIC_KEYS)?;
    let user = r
        .required(&t, "user")
        .and_then(|f| r.string(&f, Context::Plain));
    let password = r
        .required(&t, "password")
        .and_then(|f| r.string(&f, Context::Plain));
    let (user, password) = (user?, password?);
    if user.value.contains(':') {
        r.error(
            user.at,
            "a Basic-auth user name cannot contain `:`",
            "RFC 7617 separates the user from the password with the first `:`".to_string(),
        );
        return None;
    }
    // `user:password` is what the header carries, base64-encoded: that form, and every
    // other, comes with it (`Secrets`).
    let pair = format!("{}:{}", user.value, password.value);
    for secret in [pair, password.value.clone()] {
        if !secret.is_empty() && !r.secrets.contains(&secret) {
            r.secrets.push(secret);
        }
    }
    Some(Credentials::Basic {
        user: user.value,
        password: password.value,
    })
}

/// `refresh = { step, every, on }`.
fn refresh(
    r: &mut Reader<'_>,
    f: &Field<'_>,
    steps: Option<&Vec<SetupStep>>,
    step_names: &[String],
    bearer_captures: &[String],
) -> Option<Refresh> {
    let t = r.table(f, REFRESH_KEYS)?;
    let every = t
        .field("every")
        .map_or(Some(None), |f| r.positive_duration(&f).map(Some));
    let on = t
        .field("on")
        .map_or(Some(Vec::new()), |f| r.statuses(&f).map(|s| s.value));
    let step = match t.field("step") {
        Some(field) => {
            let text = r.string(&field, Context::Plain)?;
            let wanted = text.value.trim();
            match step_names.iter().position(|n| n == wanted) {
                Some(i) => Some(i),
                None if steps.is_none() => None,
                None => {
                    let names: Vec<&str> = step_names.iter().map(String::as_str).collect();
                    let guess = did_you_mean(wanted, &names)
                        .map(|g| format!("did you mean `{g}`? "))
                        .unwrap_or_default();
                    let known = if names.is_empty() {
                        "there are no [[setup]] steps".to_string()
                    } else {
                        format!("the steps are {}", list_and(&names))
                    };
                    r.error(
                        text.at,
                        format!(
                            "[auth] refresh names the step `{wanted}`, which is no [[setup]] step"
                        ),
                        format!("{guess}{known}"),
                    );
                    return None;
                }
            }
        }
        None => {
            let steps = steps?;
            let making = steps
                .iter()
                .position(|s| s.captures.iter().any(|c| bearer_captures.contains(&c.name)));
            if making.is_none() {
                r.error_at_table(
                    &t,
                    "[auth] refresh does not know which step to re-run",
                    "name the login step, e.g. refresh = { step = \"login\", every = \"50s\" }, \
                     or send a token that step captures: bearer = \"{token}\""
                        .to_string(),
                );
            }
            making
        }
    };
    let (every, on, step) = (every?, on?, step?);
    if every.is_none() && on.is_empty() {
        r.error_at_table(
            &t,
            "[auth] refresh says neither when (`every`) nor on which statuses (`on`)",
            "for example: refresh = { every = \"50s\", on = [401] }".to_string(),
        );
        return None;
    }
    Some(Refresh { step, every, on })
}

/// The Authorization header value of `credentials`, as a template (captures render
/// when the request is made).
pub fn authorization(credentials: &Credentials) -> Template {
    match credentials {
        Credentials::Basic { user, password } => {
            let encoded =
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
            Template::literal(&format!("Basic {encoded}"))
        }
        Credentials::Bearer(token) => {
            let mut parts = vec![super::model::Part::Literal("Bearer ".to_string())];
            parts.extend(token.parts.iter().cloned());
            Template { parts }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::scenario::model::*;
    use crate::scenario::parse_str;
    use crate::scenario::test_support::*;

    #[test]
    fn a_bearer_from_a_login_step_refreshes_by_that_step() {
        let s = parse(LOGIN).expect("valid");
        assert_eq!(
            s.auth.refresh,
            Some(Refresh {
                step: 0,
                every: Some(std::time::Duration::from_secs(50)),
                on: vec![401],
            }),
            "the step that captures the token is the one re-run"
        );
        let Some(Credentials::Bearer(token)) = &s.auth.credentials else {
            panic!("expected a bearer, got {:?}", s.auth.credentials);
        };
        assert_eq!(token.captures().collect::<Vec<_>>(), ["token"]);
        assert!(!s.auth.cookies);
    }

    #[test]
    fn basic_credentials_are_encoded_by_contend_and_are_secrets() {
        let text = LOGIN.replace(
            "bearer = \"{token}\"\nrefresh = { every = \"50s\", on = [401] }",
            "basic = { user = \"${U}\", password = \"${P}\" }",
        );
        let env = |name: &str| match name {
            "U" => Some("contend".to_string()),
            "P" => Some("contend-secret".to_string()),
            _ => None,
        };
        let s = parse_str(Path::new("a.toml"), &text, &env).expect("valid");
        assert_eq!(
            crate::scenario::authorization(s.auth.credentials.as_ref().unwrap()),
            Template::literal("Basic Y29udGVuZDpjb250ZW5kLXNlY3JldA==")
        );
        for secret in [
            "contend-secret",
            "contend:contend-secret",
            "Y29udGVuZDpjb250ZW5kLXNlY3JldA==",
        ] {
            assert_eq!(s.secrets.redact(secret), "***", "{secret}");
        }
    }

    #[test]
    fn basic_and_bearer_together_are_one_error_at_bearer() {
        let text = LOGIN.replace(
            "bearer = \"{token}\"",
            "basic = { user = \"a\", password = \"b\" }\nbearer = \"{token}\"",
        );
        let d = only_error(&text);
        assert_eq!(
            d.message,
            "`basic` and `bearer` cannot both be set in [auth]"
        );
        assert_eq!(at(&d), position_of(&text, "bearer = "));
    }

    #[test]
    fn an_authorization_header_beside_auth_credentials_is_one_error() {
        let text = LOGIN.replace(
            "query = { api-version = \"2\" }",
            "query = { api-version = \"2\" }\nheaders = { authorization = \"Bearer x\" }",
        );
        let d = only_error(&text);
        assert_eq!(
            d.message,
            "the top-level `headers` set Authorization, and so does [auth]"
        );
        assert_eq!(at(&d), position_of(&text, "bearer = "));
    }

    #[test]
    fn a_refresh_names_a_step_that_exists_and_says_when() {
        let text = LOGIN.replace(
            "every = \"50s\", on",
            "step = \"logn\", every = \"50s\", on",
        );
        let d = only_error(&text);
        assert_eq!(
            d.message,
            "[auth] refresh names the step `logn`, which is no [[setup]] step"
        );
        assert_eq!(
            d.hint.as_deref(),
            Some("did you mean `login`? the steps are login and bucket")
        );
        assert_eq!(at(&d), position_of(&text, "\"logn\""));

        let text = LOGIN.replace("{ every = \"50s\", on = [401] }", "{ step = \"login\" }");
        let d = only_error(&text);
        assert_eq!(
            d.message,
            "[auth] refresh says neither when (`every`) nor on which statuses (`on`)"
        );

        let text = LOGIN.replace("bearer = \"{token}\"", "bearer = \"${TOKEN:-fixed}\"");
        let d = only_error(&text);
        assert_eq!(
            d.message,
            "[auth] refresh does not know which step to re-run"
        );
    }

    #[test]
    fn auth_keys_are_checked_where_they_are_written() {
        let text = LOGIN.replace("[auth]\n", "[auth]\ncookie = true\n");
        let d = only_error(&text);
        assert_eq!(d.message, "unknown key `cookie` in [auth]");
        assert!(d
            .hint
            .unwrap_or_default()
            .starts_with("did you mean `cookies`?"));

        let text = LOGIN.replace("[auth]\n", "[auth]\ncookies = \"yes\"\n");
        let d = only_error(&text);
        assert_eq!(
            d.message,
            "wrong type for `cookies` in [auth]: expected a boolean (true or false), found a string"
        );

        let text = LOGIN.replace("conflict = [412]", "conflict = [412]\nbearer = \"x\"");
        let d = only_error(&text);
        assert!(
            d.hint
                .unwrap_or_default()
                .starts_with("`bearer` belongs in [auth]"),
            "a misplaced key is sent home"
        );
    }
}
