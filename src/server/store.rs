//! Storage for the reference server, and the one check-then-commit mechanism every
//! conditional write goes through.
//!
//! A [`Collection`] maps ids to documents; each document sits behind its own async lock,
//! and the map's lock is held only long enough to look an entry up or insert one. The
//! dialects decide what a client's token is and how it compares to a [`Doc`]; the
//! [`WritePolicy`] decides when that comparison happens relative to the commit. Correct,
//! it is one lock hold: exactly one of N simultaneous writers holding the same version
//! wins. Each [`Bug`] breaks that in exactly one way, for all dialects at once.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use super::window::{hold, WindowStats};

use serde_json::{Map, Value};
use tokio::sync::Mutex;

use super::Bug;

/// A JSON object as stored: the client's fields, without any server-managed ones.
pub(super) type Body = Map<String, Value>;

/// One stored document.
#[derive(Debug, Clone)]
pub(super) struct Doc {
    /// Starts at 1; a correct write advances it by one.
    pub version: u64,
    /// The fields last written.
    pub body: Body,
    /// 32 hex digits digesting `(version, body)` as of the last version change; the
    /// CouchDB dialect's rev is `{version}-{digest}`, so it moves exactly when the
    /// version does.
    pub digest: String,
}

impl Doc {
    /// A new document at version 1.
    fn new(body: Body) -> Doc {
        let digest = digest(1, &body);
        Doc {
            version: 1,
            body,
            digest,
        }
    }

    /// Replaces the body, leaving the version (and so every token) as it was.
    fn store_body(&mut self, body: Body) {
        self.body = body;
    }

    /// Moves to the next version, digesting the body now stored.
    fn advance_version(&mut self) {
        self.version += 1;
        self.digest = digest(self.version, &self.body);
    }
}

/// A deterministic 128-bit digest of `(version, body)` as 32 hex digits: two std hashes
/// with different seeds. Not cryptographic; it only has to change with the version.
fn digest(version: u64, body: &Body) -> String {
    // Serialising a map with string keys cannot fail; an empty fallback would still
    // leave the version in the digest.
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    let half = |seed: u8| {
        let mut hasher = DefaultHasher::new();
        (seed, version, &bytes).hash(&mut hasher);
        hasher.finish()
    };
    format!("{:016x}{:016x}", half(0), half(1))
}

/// A document behind its own lock.
pub(super) type DocCell = Arc<Mutex<Doc>>;

/// One collection: id → document, with ids handed out from a counter.
#[derive(Debug, Default)]
pub(super) struct Collection {
    docs: RwLock<HashMap<String, DocCell>>,
    last_id: AtomicU64,
}

impl Collection {
    /// An empty collection.
    pub fn new() -> Collection {
        Collection::default()
    }

    /// The document with this id, if any; the map is locked only for the lookup.
    pub fn get(&self, id: &str) -> Option<DocCell> {
        let docs = self.docs.read().unwrap_or_else(PoisonError::into_inner);
        docs.get(id).cloned()
    }

    /// A copy of the document with this id, if any, read under its lock.
    pub async fn read(&self, id: &str) -> Option<Doc> {
        let cell = self.get(id)?;
        let doc = cell.lock().await;
        Some(doc.clone())
    }

    /// Stores a new document under the next free decimal id ("1", "2"...), skipping ids
    /// a client already chose, and returns the id and the document.
    pub fn create(&self, body: Body) -> (String, Doc) {
        let doc = Doc::new(body);
        let mut docs = self.docs.write().unwrap_or_else(PoisonError::into_inner);
        loop {
            let id = (self.last_id.fetch_add(1, Ordering::Relaxed) + 1).to_string();
            if !docs.contains_key(&id) {
                docs.insert(id.clone(), Arc::new(Mutex::new(doc.clone())));
                return (id, doc);
            }
        }
    }

    /// Stores a new document under a client-chosen id, atomically: `None` if that id is
    /// already taken (so of N simultaneous creators exactly one succeeds).
    pub fn create_at(&self, id: &str, body: Body) -> Option<Doc> {
        let mut docs = self.docs.write().unwrap_or_else(PoisonError::into_inner);
        if docs.contains_key(id) {
            return None;
        }
        let doc = Doc::new(body);
        docs.insert(id.to_owned(), Arc::new(Mutex::new(doc.clone())));
        Some(doc)
    }
}

/// What a conditional write did, with the document as the write left it.
#[derive(Debug, Clone)]
pub(super) enum WriteOutcome {
    /// The precondition held (or the bug said so) and the body was committed.
    Applied(Doc),
    /// The precondition failed; the document is the current one the client lost to.
    Rejected(Doc),
}

/// The check-then-commit mechanism shared by every dialect's writes, where a [`Bug`] is
/// injected.
#[derive(Debug, Clone)]
pub(super) struct WritePolicy {
    bug: Option<Bug>,
    window: Duration,
    /// Every `toctou` window as it really lasted, from check to commit.
    windows: WindowStats,
}

impl WritePolicy {
    /// A policy with the given bug (none: correct) and check-to-commit window.
    pub fn new(bug: Option<Bug>, window: Duration) -> WritePolicy {
        WritePolicy {
            bug,
            window,
            windows: WindowStats::new(),
        }
    }

    /// The measured windows, shared with the `/_contend/windows` route.
    pub fn window_stats(&self) -> WindowStats {
        self.windows.clone()
    }

    /// Replaces the document's body with `body` if `token_matches` the document, and
    /// advances its version; otherwise leaves it alone. The dialect has already refused
    /// requests with no token at all, so only the comparison is left to do here.
    ///
    /// Correct, the comparison and the commit happen under one hold of the document's
    /// lock. Each bug changes exactly that sequence; see [`Bug`].
    pub async fn write(
        &self,
        cell: &DocCell,
        body: Body,
        token_matches: impl Fn(&Doc) -> bool,
    ) -> WriteOutcome {
        match self.bug {
            None => {
                let mut doc = cell.lock().await;
                if !token_matches(&doc) {
                    return WriteOutcome::Rejected(doc.clone());
                }
                doc.store_body(body);
                doc.advance_version();
                WriteOutcome::Applied(doc.clone())
            }
            Some(Bug::Toctou) => {
                {
                    let doc = cell.lock().await;
                    if !token_matches(&doc) {
                        return WriteOutcome::Rejected(doc.clone());
                    }
                }
                // The lock is released here: every writer that checks within the window
                // sees the same version and goes on to commit.
                let checked = Instant::now();
                hold(self.window).await;
                let mut doc = cell.lock().await;
                doc.store_body(body);
                doc.advance_version();
                self.windows.record(checked.elapsed());
                WriteOutcome::Applied(doc.clone())
            }
            Some(Bug::IgnorePrecondition) => {
                // The token is never compared; the window stands in for the work a real
                // server would do between reading and writing.
                hold(self.window).await;
                let mut doc = cell.lock().await;
                doc.store_body(body);
                doc.advance_version();
                WriteOutcome::Applied(doc.clone())
            }
            Some(Bug::StaleToken) => {
                let mut doc = cell.lock().await;
                if !token_matches(&doc) {
                    return WriteOutcome::Rejected(doc.clone());
                }
                doc.store_body(body);
                WriteOutcome::Applied(doc.clone())
            }
            Some(Bug::LoserApplied) => {
                let mut doc = cell.lock().await;
                doc.store_body(body);
                if !token_matches(&doc) {
                    return WriteOutcome::Rejected(doc.clone());
                }
                doc.advance_version();
                WriteOutcome::Applied(doc.clone())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(value: Value) -> Body {
        match value {
            Value::Object(map) => map,
            other => panic!("test body must be an object, got {other}"),
        }
    }

    #[test]
    fn digest_is_32_hex_digits_and_changes_with_the_version() {
        let fields = body(json!({"title": "a"}));
        let first = digest(1, &fields);
        assert_eq!(first.len(), 32);
        assert!(first.chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(first, digest(1, &fields), "digest must be deterministic");
        assert_ne!(first, digest(2, &fields));
    }

    #[test]
    fn create_skips_ids_a_client_already_chose() {
        let collection = Collection::new();
        assert!(collection.create_at("1", Body::new()).is_some());
        let (id, _) = collection.create(Body::new());
        assert_eq!(id, "2");
    }

    #[test]
    fn create_at_refuses_a_taken_id() {
        let collection = Collection::new();
        assert!(collection.create_at("x", Body::new()).is_some());
        assert!(collection.create_at("x", Body::new()).is_none());
    }

    #[tokio::test]
    async fn correct_policy_rejects_a_stale_token_and_keeps_the_body() {
        let collection = Collection::new();
        let (id, _) = collection.create(body(json!({"n": 1})));
        let cell = collection.get(&id).expect("created document");
        let policy = WritePolicy::new(None, Duration::ZERO);

        let first = policy.write(&cell, body(json!({"n": 2})), |d| d.version == 1);
        assert!(matches!(first.await, WriteOutcome::Applied(ref d) if d.version == 2));

        let stale = policy.write(&cell, body(json!({"n": 3})), |d| d.version == 1);
        match stale.await {
            WriteOutcome::Rejected(doc) => {
                assert_eq!(doc.version, 2);
                assert_eq!(Value::Object(doc.body), json!({"n": 2}));
            }
            other => panic!("expected a rejection, got {other:?}"),
        }
    }
}
