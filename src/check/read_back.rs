//! Reading a state back for writers' markers: as text, and inside base64-encoded JSON
//! strings, so the stale-write checker recognises a write that was sent encoded.

use serde_json::Value;

use crate::scenario::Filter;

/// A state read back, as the checker searches it for writers' markers: the body itself,
/// and every JSON string in it that decodes from base64 to text. etcd's gateway sends
/// values that way, so a write that sent `{marker|base64}` is still recognised.
pub(crate) struct ReadBack {
    texts: Vec<String>,
}

impl ReadBack {
    /// Reads a response body.
    pub(crate) fn of(body: &str) -> ReadBack {
        let mut texts = vec![body.to_string()];
        if let Ok(json) = serde_json::from_str::<Value>(body) {
            decoded_strings(&json, &mut texts);
        }
        ReadBack { texts }
    }

    /// Whether the state carries `marker`, as text or base64-encoded.
    pub(crate) fn carries(&self, marker: &str) -> bool {
        self.texts.iter().any(|t| t.contains(marker))
    }
}

/// Every string in `json` that is base64-encoded UTF-8 text, decoded.
fn decoded_strings(json: &Value, out: &mut Vec<String>) {
    match json {
        Value::String(s) => out.extend(Filter::Base64.decode(s)),
        Value::Array(items) => items.iter().for_each(|v| decoded_strings(v, out)),
        Value::Object(map) => map.values().for_each(|v| decoded_strings(v, out)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_marker_is_found_as_text_or_inside_a_base64_json_string() {
        let marker = "ct00000000000000abr0000003w00002";
        let plain = format!(r#"{{"text":"{marker}"}}"#);
        let encoded = format!(
            r#"{{"kvs":[{{"value":"{}"}}]}}"#,
            Filter::Base64.encode(marker)
        );
        assert!(ReadBack::of(&plain).carries(marker));
        assert!(ReadBack::of(&encoded).carries(marker));
        assert!(
            ReadBack::of(marker).carries(marker),
            "a body that is not JSON"
        );
    }

    #[test]
    fn another_writers_marker_is_not_found() {
        let body = format!(
            r#"{{"kvs":[{{"value":"{}"}}]}}"#,
            Filter::Base64.encode("ct00000000000000abr0000003w00002")
        );
        assert!(!ReadBack::of(&body).carries("ct00000000000000abr0000003w00012"));
    }
}
