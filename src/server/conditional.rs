//! Preconditions of a `PUT` that may create its target: `If-Match` and `If-None-Match`
//! evaluated in RFC 9110's order (§13.2.2) against the target's current entity-tag, or
//! against nothing when it does not exist yet. Shared by `/texts`, `/dav` and the
//! objects of `/buckets`.
//!
//! `If-Match` is evaluated first, with the strong comparison: a weak current tag never
//! matches a listed tag (only `*` matches any current representation), and nothing
//! matches a target that does not exist (§13.1.1). `If-None-Match` follows, with the weak
//! comparison (§13.1.2). A failure of either is a 412; the caller words it.

use axum::http::HeaderMap;

use super::etag::{IfMatch, IfNoneMatch};

/// A current entity-tag: its strong form (`"opaque"`) and whether it is served weak.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Tag {
    /// The quoted opaque part, e.g. `"3"`.
    pub strong: String,
    /// Whether the server vouches only for semantic equivalence: `W/"3"` on the wire.
    pub weak: bool,
}

impl Tag {
    /// A strong tag with this opaque part.
    pub fn strong(opaque: impl std::fmt::Display) -> Tag {
        Tag {
            strong: format!("\"{opaque}\""),
            weak: false,
        }
    }

    /// The tag as sent in an `ETag` header: `"3"` or `W/"3"`.
    pub fn header(&self) -> String {
        if self.weak {
            format!("W/{}", self.strong)
        } else {
            self.strong.clone()
        }
    }
}

/// The request's two preconditions, either or both absent.
#[derive(Debug, Clone)]
pub(super) struct Preconditions {
    pub if_match: Option<IfMatch>,
    pub if_none_match: Option<IfNoneMatch>,
}

/// Why a precondition failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Failed {
    /// `If-Match` was sent but there is no current representation to match.
    NothingToMatch,
    /// `If-Match` names no tag that strongly matches the current one.
    Mismatch,
    /// `If-None-Match` matches: `*` and the target exists, or a listed tag matches.
    Exists,
}

impl Preconditions {
    /// The request's `If-Match` and `If-None-Match`.
    pub fn from_headers(headers: &HeaderMap) -> Preconditions {
        Preconditions {
            if_match: IfMatch::from_headers(headers),
            if_none_match: IfNoneMatch::from_headers(headers),
        }
    }

    /// Whether the request carries no precondition at all.
    pub fn is_empty(&self) -> bool {
        self.if_match.is_none() && self.if_none_match.is_none()
    }

    /// Evaluates both against the target's current tag (`None`: it does not exist).
    pub fn evaluate(&self, current: Option<&Tag>) -> Result<(), Failed> {
        if let Some(if_match) = &self.if_match {
            let Some(current) = current else {
                return Err(Failed::NothingToMatch);
            };
            let any = if_match.raw.trim() == "*";
            let matched = if current.weak {
                any
            } else {
                if_match.matches(&current.strong)
            };
            if !matched {
                return Err(Failed::Mismatch);
            }
        }
        if let Some(if_none_match) = &self.if_none_match {
            let current = current.map(|tag| tag.strong.as_str());
            if if_none_match.fails_for(current) {
                return Err(Failed::Exists);
            }
        }
        Ok(())
    }

    /// The header that failed, as sent, for a 412's detail.
    pub fn failed_header(&self, failed: &Failed) -> String {
        match failed {
            Failed::NothingToMatch | Failed::Mismatch => self
                .if_match
                .as_ref()
                .map_or_else(String::new, |m| format!("If-Match {}", m.raw)),
            Failed::Exists => self
                .if_none_match
                .as_ref()
                .map_or_else(String::new, |m| format!("If-None-Match {}", m.raw())),
        }
    }

    /// Whether `If-None-Match` is `*`: the request may only create.
    pub fn create_only(&self) -> bool {
        self.if_none_match
            .as_ref()
            .is_some_and(|m| m.raw().trim() == "*")
    }
}

#[cfg(test)]
mod tests {
    use axum::http::{HeaderMap, HeaderValue};

    use super::*;

    fn preconditions(pairs: &[(&'static str, &'static str)]) -> Preconditions {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(*name, HeaderValue::from_static(value));
        }
        Preconditions::from_headers(&headers)
    }

    fn weak(opaque: &str) -> Tag {
        Tag {
            weak: true,
            ..Tag::strong(opaque)
        }
    }

    #[test]
    fn a_tag_is_sent_quoted_and_weak_ones_with_the_w_prefix() {
        assert_eq!(Tag::strong(3).header(), "\"3\"");
        assert_eq!(weak("5f-a").header(), "W/\"5f-a\"");
    }

    #[test]
    fn no_precondition_passes_whether_or_not_the_target_exists() {
        let none = preconditions(&[]);
        assert!(none.is_empty());
        assert_eq!(none.evaluate(None), Ok(()));
        assert_eq!(none.evaluate(Some(&Tag::strong(1))), Ok(()));
    }

    #[test]
    fn if_match_needs_an_existing_target_and_a_strongly_equal_tag() {
        let current = preconditions(&[("if-match", "\"2\"")]);
        assert_eq!(current.evaluate(Some(&Tag::strong(2))), Ok(()));
        assert_eq!(
            current.evaluate(Some(&Tag::strong(3))),
            Err(Failed::Mismatch)
        );
        assert_eq!(current.evaluate(None), Err(Failed::NothingToMatch));
        assert_eq!(
            current.evaluate(Some(&weak("2"))),
            Err(Failed::Mismatch),
            "a weak current tag never matches a listed one"
        );
        let sent_weak = preconditions(&[("if-match", "W/\"2\"")]);
        assert_eq!(
            sent_weak.evaluate(Some(&Tag::strong(2))),
            Err(Failed::Mismatch)
        );
    }

    #[test]
    fn if_match_star_matches_any_existing_target_even_a_weak_one() {
        let star = preconditions(&[("if-match", "*")]);
        assert_eq!(star.evaluate(Some(&weak("1"))), Ok(()));
        assert_eq!(star.evaluate(None), Err(Failed::NothingToMatch));
    }

    #[test]
    fn if_none_match_star_only_lets_a_create_through() {
        let create_only = preconditions(&[("if-none-match", "*")]);
        assert!(create_only.create_only());
        assert_eq!(create_only.evaluate(None), Ok(()));
        assert_eq!(create_only.evaluate(Some(&weak("1"))), Err(Failed::Exists));
        assert_eq!(
            create_only.failed_header(&Failed::Exists),
            "If-None-Match *"
        );
    }

    #[test]
    fn if_match_is_evaluated_before_if_none_match() {
        let both = preconditions(&[("if-match", "\"1\""), ("if-none-match", "\"1\"")]);
        assert_eq!(both.evaluate(Some(&Tag::strong(2))), Err(Failed::Mismatch));
        assert_eq!(both.evaluate(Some(&Tag::strong(1))), Err(Failed::Exists));
        assert_eq!(both.failed_header(&Failed::Mismatch), "If-Match \"1\"");
    }
}
