//! Secrets: values that must never appear in anything contend writes (reports, the
//! history, the terminal, diagnostics), and every form each one takes on the way.
//!
//! A secret is a value from the environment (`${API_TOKEN}`), a password in a target's
//! user-info (`--target http://user:PASS@host`) or in `[auth] basic`, or anything learned
//! while the run goes (a captured token, a kept cookie, every capture of a step marked
//! `secret`): [`Secrets`] is one shared set that any holder can add to, and every clone
//! sees what was added, so the engine's recorder redacts each record against it the
//! moment it is made, and the final reports against everything learned by then. A
//! secret rarely travels as it was given: a query carries it percent- or form-encoded, a
//! JSON body escaped, a Basic `Authorization` header in base64. So each secret is
//! redacted in all of these forms:
//!
//! - as it is;
//! - percent-encoded, by every encode set a URL library uses (the WHATWG query, path,
//!   user-info and component sets, and every character but the unreserved ones), in
//!   upper- and lower-case hex;
//! - form-encoded (`application/x-www-form-urlencoded`, a space as `+`);
//! - JSON-escaped (as serde writes it, with `/` escaped too, and ASCII-only with
//!   `\u` escapes);
//! - base64 (standard and URL-safe alphabets, with and without padding).

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use base64::Engine as _;

/// What a secret is replaced with.
pub const MASK: &str = "***";

/// Values learned at run time shorter than this are not taken as secrets (see
/// [`Secrets::learn`]); those the scenario names (the environment's, a password) are
/// redacted whatever their length.
pub const SHORTEST_LEARNED: usize = 4;

/// A shared, appendable set of secrets, with every form of each (see the module doc).
/// Clones share the set: a secret added through one is redacted by all.
#[derive(Clone, Default)]
pub struct Secrets {
    inner: Arc<RwLock<Known>>,
    /// Set once a secret is known: until then a record is checked without the lock,
    /// which every connection's recorder would otherwise take for every text.
    any: Arc<AtomicBool>,
}

/// The secrets as given, and every form of them, longest first.
#[derive(Default)]
struct Known {
    raw: Vec<String>,
    forms: Vec<String>,
}

impl std::fmt::Debug for Secrets {
    /// Never the values: a debug print must not leak what redaction hides.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Secrets({} hidden)", self.len())
    }
}

impl Secrets {
    /// An empty set.
    pub fn new() -> Secrets {
        Secrets::default()
    }

    /// A set holding `values`.
    pub fn of<S: AsRef<str>>(values: impl IntoIterator<Item = S>) -> Secrets {
        let secrets = Secrets::new();
        for v in values {
            secrets.add(v.as_ref());
        }
        secrets
    }

    /// Adds a secret and its forms; an empty one, or one already known, changes nothing.
    pub fn add(&self, secret: &str) {
        if secret.is_empty() {
            return;
        }
        let mut known = self.inner.write().unwrap_or_else(PoisonError::into_inner);
        if known.raw.iter().any(|s| s == secret) {
            return;
        }
        known.raw.push(secret.to_string());
        let mut all: BTreeSet<String> = known.forms.drain(..).collect();
        all.extend(forms(secret));
        let mut forms: Vec<String> = all.into_iter().collect();
        // Longest first, so that no form is half-replaced by a shorter one inside it.
        forms.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        known.forms = forms;
        self.any.store(true, Ordering::Release);
    }

    /// Adds a value learned while the run goes (a captured token, a kept cookie),
    /// trimmed, and its forms; one shorter than [`SHORTEST_LEARNED`] characters is
    /// ignored: replacing every `7` in a report would hide more than it protects.
    pub fn learn(&self, value: &str) {
        let value = value.trim();
        if value.chars().count() >= SHORTEST_LEARNED {
            self.add(value);
        }
    }

    /// Adds the secrets of a URL's user-info: the password (decoded), and `user:password`,
    /// whose base64 form is what a Basic `Authorization` header made from it carries.
    pub fn add_credentials(&self, url: &url::Url) {
        let Some(password) = url.password().filter(|p| !p.is_empty()) else {
            return;
        };
        let decoded = decode(password);
        self.add(&decoded);
        self.add(&format!("{}:{decoded}", decode(url.username())));
    }

    /// The secrets as given, in the order they were added.
    pub fn values(&self) -> Vec<String> {
        self.inner
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .raw
            .clone()
    }

    /// How many secrets were given (not counting their forms).
    pub fn len(&self) -> usize {
        self.inner
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .raw
            .len()
    }

    /// True when there is nothing to hide.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether `text` holds any form of any secret.
    pub fn found_in(&self, text: &str) -> bool {
        if !self.any.load(Ordering::Acquire) {
            return false;
        }
        let known = self.inner.read().unwrap_or_else(PoisonError::into_inner);
        known.forms.iter().any(|f| text.contains(f.as_str()))
    }

    /// `text` with every form of every secret replaced by [`MASK`].
    pub fn redact(&self, text: &str) -> String {
        if !self.any.load(Ordering::Acquire) {
            return text.to_string();
        }
        let known = self.inner.read().unwrap_or_else(PoisonError::into_inner);
        let mut out = text.to_string();
        for form in &known.forms {
            if out.contains(form.as_str()) {
                out = out.replace(form.as_str(), MASK);
            }
        }
        out
    }

    /// Redacts `text` in place.
    pub fn hide(&self, text: &mut String) {
        if !self.is_empty() {
            *text = self.redact(text);
        }
    }
}

/// Percent-decodes a URL component (the user-info the `url` crate keeps encoded).
fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(&h), Some(&l)) if hex(h).is_some() && hex(l).is_some() => {
                out.push((hex(h).unwrap_or(0) * 16 + hex(l).unwrap_or(0)) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The characters each WHATWG percent-encode set encodes besides controls and
/// non-ASCII, from the narrowest (a query) to the widest (a component), with the
/// variants URL libraries write (a path with and without `^`); every character but the
/// unreserved ones (RFC 3986 §2.3) is one more form.
const ENCODE_SETS: [&str; 6] = [
    " \"#<>",
    " \"#<>'",
    " \"#<>?`{}",
    " \"#<>?^`{}",
    " \"#<>?^`{}/:;=@[\\]|",
    " \"#<>?^`{}/:;=@[\\]|$%&+,",
];

/// Every form of `secret` (itself included), as the module doc lists them.
fn forms(secret: &str) -> Vec<String> {
    let mut out = vec![secret.to_string()];
    for set in ENCODE_SETS {
        for upper in [true, false] {
            out.push(percent(secret, |b| set.as_bytes().contains(&b), upper));
        }
    }
    for upper in [true, false] {
        out.push(percent(
            secret,
            |b| !(b.is_ascii_alphanumeric() || b"-._~".contains(&b)),
            upper,
        ));
    }
    out.push(url::form_urlencoded::byte_serialize(secret.as_bytes()).collect());
    if let Ok(json) = serde_json::to_string(secret) {
        let inner = json
            .strip_prefix('"')
            .and_then(|j| j.strip_suffix('"'))
            .unwrap_or(&json)
            .to_string();
        out.push(inner.replace('/', "\\/"));
        out.push(ascii_json(&inner).replace('/', "\\/"));
        out.push(ascii_json(&inner));
        out.push(inner);
    }
    let b64 = &base64::engine::general_purpose::STANDARD;
    let b64_bare = &base64::engine::general_purpose::STANDARD_NO_PAD;
    let url_safe = &base64::engine::general_purpose::URL_SAFE;
    let url_safe_bare = &base64::engine::general_purpose::URL_SAFE_NO_PAD;
    out.push(b64.encode(secret));
    out.push(b64_bare.encode(secret));
    out.push(url_safe.encode(secret));
    out.push(url_safe_bare.encode(secret));
    out.retain(|f| !f.is_empty());
    out
}

/// `s` percent-encoded: each control, non-ASCII byte and byte `encode` names as `%XX`.
fn percent(s: &str, encode: impl Fn(u8) -> bool, upper: bool) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for &b in s.as_bytes() {
        if !(0x20..0x7f).contains(&b) || encode(b) {
            if upper {
                out.push_str(&format!("%{b:02X}"));
            } else {
                out.push_str(&format!("%{b:02x}"));
            }
        } else {
            out.push(b as char);
        }
    }
    out
}

/// A JSON string body (already escaped) with every non-ASCII character as `\uXXXX`
/// (UTF-16 units, lower-case hex), as ASCII-only serialisers write it.
fn ascii_json(escaped: &str) -> String {
    let mut out = String::with_capacity(escaped.len());
    for c in escaped.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A token with every character that encodes differently in some form.
    const TOKEN: &str = "s3cr3t XYZ/+=&\"\\é";

    fn hidden(text: &str) -> String {
        Secrets::of([TOKEN]).redact(text)
    }

    #[test]
    fn a_secret_is_redacted_as_it_is() {
        assert_eq!(
            hidden(&format!("Bearer {TOKEN} and {TOKEN}")),
            "Bearer *** and ***"
        );
    }

    #[test]
    fn a_secret_is_redacted_percent_encoded() {
        // As the url crate writes it in a path, and with every reserved character encoded.
        let strict = "s3cr3t%20XYZ%2F%2B%3D%26%22%5C%C3%A9";
        assert_eq!(hidden(&format!("/x?t={strict}")), "/x?t=***");
        assert_eq!(
            hidden("s3cr3t%20XYZ%2f%2b%3d%26%22%5c%c3%a9"),
            "***",
            "lower-case hex"
        );
        // A path keeps `/`, `+`, `=` and `&` as they are and encodes the rest.
        let token = "s3cr3t XYZ/+=&\"é`{";
        let mut url = url::Url::parse("http://h/").unwrap();
        url.set_path(token);
        assert_eq!(
            Secrets::of([token]).redact(url.as_str()),
            "http://h/***",
            "{url}"
        );
    }

    #[test]
    fn a_secret_is_redacted_form_encoded() {
        let mut url = url::Url::parse("http://h/notes").unwrap();
        url.query_pairs_mut().append_pair("token", TOKEN);
        assert!(url.as_str().contains("s3cr3t+XYZ%2F%2B%3D%26"), "{url}");
        assert_eq!(hidden(url.as_str()), "http://h/notes?token=***");
    }

    #[test]
    fn a_secret_is_redacted_json_escaped() {
        let body = serde_json::json!({ "echo": TOKEN }).to_string();
        assert!(body.contains(r#"s3cr3t XYZ/+=&\"\\é"#), "{body}");
        assert_eq!(hidden(&body), r#"{"echo":"***"}"#);
        assert_eq!(
            hidden(r#"{"echo":"s3cr3t XYZ\/+=&\"\\\u00e9"}"#),
            r#"{"echo":"***"}"#
        );
    }

    #[test]
    fn a_secret_is_redacted_base64_encoded() {
        let standard = base64::engine::general_purpose::STANDARD.encode(TOKEN);
        let url_safe = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(TOKEN);
        assert_eq!(hidden(&format!("Basic {standard}")), "Basic ***");
        assert_eq!(hidden(&format!("t={url_safe}")), "t=***");
    }

    #[test]
    fn a_password_in_a_url_is_redacted_decoded_encoded_and_as_basic_credentials() {
        let url = url::Url::parse("http://ann:p%40ss%20w@127.0.0.1:9/x").unwrap();
        let secrets = Secrets::new();
        secrets.add_credentials(&url);
        assert_eq!(secrets.redact(url.as_str()), "http://ann:***@127.0.0.1:9/x");
        assert_eq!(secrets.redact("password p@ss w"), "password ***");
        let basic = base64::engine::general_purpose::STANDARD.encode("ann:p@ss w");
        assert_eq!(secrets.redact(&format!("Basic {basic}")), "Basic ***");
    }

    #[test]
    fn a_secret_added_later_is_redacted_by_every_clone() {
        let secrets = Secrets::new();
        let shared = secrets.clone();
        assert_eq!(shared.redact("tok-42"), "tok-42");
        secrets.add("tok-42");
        secrets.add("");
        assert_eq!(shared.redact("tok-42"), "***");
        assert_eq!(shared.len(), 1);
        secrets.learn(" 7a1 ");
        assert_eq!(
            shared.redact("7a1"),
            "7a1",
            "a learned value that short is no secret"
        );
        secrets.learn(" cookie-9 ");
        assert_eq!(shared.redact("c=cookie-9"), "c=***");
        assert!(!format!("{shared:?}").contains("tok"));
    }
}
