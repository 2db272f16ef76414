//! [`Text`]: the string type of the record's fields whose values repeat from record to
//! record (the scenario's name, the method, the URL, the content type, the promised
//! statuses, a version token that a read found and the write after it sent).
//!
//! A `Text` is an immutable string behind a reference count, so a record built from a
//! value another record already holds costs no allocation, and the readers of a saved
//! history hand out one `Text` per distinct value of a column rather than one per row.
//! It reads like the `String` it replaces: it derefs to `str`, prints with `Display`,
//! compares with `str`, `&str` and `String`, converts from both, and serializes as a
//! plain string, so `requests.csv` and the JSON Lines history are unchanged.

use std::borrow::Borrow;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An immutable, cheaply cloned string (see the module doc).
#[derive(Clone)]
pub struct Text(Repr);

#[derive(Clone)]
enum Repr {
    /// A string the program holds for its whole life: no count to keep.
    Static(&'static str),
    Shared(Arc<str>),
}

impl Text {
    /// A `Text` of a string the program holds for its whole life (no allocation).
    pub const fn from_static(text: &'static str) -> Text {
        Text(Repr::Static(text))
    }

    /// The empty string (no allocation).
    pub const fn empty() -> Text {
        Text::from_static("")
    }

    /// The text as a `str`.
    pub fn as_str(&self) -> &str {
        match &self.0 {
            Repr::Static(s) => s,
            Repr::Shared(s) => s,
        }
    }

    /// `Some(text)` unless the text is empty: a record's optional fields hold no empty
    /// value, so what is written as an empty CSV cell reads back as what was written.
    pub fn non_empty(text: impl Into<Text>) -> Option<Text> {
        let text = text.into();
        (!text.is_empty()).then_some(text)
    }
}

impl Default for Text {
    fn default() -> Text {
        Text::empty()
    }
}

impl Deref for Text {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Text {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<std::path::Path> for Text {
    fn as_ref(&self) -> &std::path::Path {
        self.as_str().as_ref()
    }
}

impl Borrow<str> for Text {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.as_str(), f)
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl PartialEq for Text {
    /// Two clones of one `Text` are equal without reading their bytes.
    fn eq(&self, other: &Text) -> bool {
        let (a, b) = (self.as_str(), other.as_str());
        (std::ptr::eq(a.as_ptr(), b.as_ptr()) && a.len() == b.len()) || a == b
    }
}

impl Eq for Text {}

impl PartialOrd for Text {
    fn partial_cmp(&self, other: &Text) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Text {
    fn cmp(&self, other: &Text) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl Hash for Text {
    /// As a `str` hashes, so a `Text` key is found by its `str` (`Borrow<str>`).
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl PartialEq<str> for Text {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Text {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<String> for Text {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == other.as_str()
    }
}

impl PartialEq<Text> for str {
    fn eq(&self, other: &Text) -> bool {
        self == other.as_str()
    }
}

impl PartialEq<Text> for &str {
    fn eq(&self, other: &Text) -> bool {
        *self == other.as_str()
    }
}

impl PartialEq<Text> for String {
    fn eq(&self, other: &Text) -> bool {
        self.as_str() == other.as_str()
    }
}

impl From<&str> for Text {
    fn from(text: &str) -> Text {
        if text.is_empty() {
            return Text::empty();
        }
        Text(Repr::Shared(Arc::from(text)))
    }
}

impl From<String> for Text {
    fn from(text: String) -> Text {
        if text.is_empty() {
            return Text::empty();
        }
        Text(Repr::Shared(Arc::from(text)))
    }
}

impl From<&String> for Text {
    fn from(text: &String) -> Text {
        Text::from(text.as_str())
    }
}

impl From<Arc<str>> for Text {
    fn from(text: Arc<str>) -> Text {
        Text(Repr::Shared(text))
    }
}

impl From<Text> for String {
    fn from(text: Text) -> String {
        text.as_str().to_string()
    }
}

impl From<&Text> for String {
    fn from(text: &Text) -> String {
        text.as_str().to_string()
    }
}

impl Serialize for Text {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Text, D::Error> {
        String::deserialize(deserializer).map(Text::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_text_reads_compares_and_prints_like_the_string_it_holds() {
        let t = Text::from("PUT");
        assert_eq!(t, "PUT");
        assert_eq!("PUT", t);
        assert_eq!(t, String::from("PUT"));
        assert_eq!(t.len(), 3);
        assert_eq!(format!("{t} {t:?}"), "PUT \"PUT\"");
        assert_eq!(t, Text::from_static("PUT"));
        assert_eq!(Text::from(String::new()), Text::default());
        assert_eq!(Text::non_empty(""), None);
        assert_eq!(Text::non_empty("x"), Some(Text::from("x")));
        let mut set = std::collections::HashSet::new();
        set.insert(t.clone());
        assert!(set.contains("PUT"), "found by its str");
    }

    #[test]
    fn a_text_serializes_as_a_plain_string() {
        let t = Text::from("a \"b\"");
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(json, r#""a \"b\"""#);
        assert_eq!(serde_json::from_str::<Text>(&json).unwrap(), t);
    }
}
