//! Storage for the reference server, and the one check-then-commit mechanism every
//! guarded change goes through.
//!
//! A [`Collection`] maps ids to values (documents, orders, items, slots); each value sits
//! behind its own lock, and the map's lock is held only long enough to look an entry up
//! or insert one. Tables that need one lock over many entries (the users' email index,
//! the files, the idempotency keys) are a plain `Mutex` over the whole table.
//!
//! Every endpoint family decides what its check is (is the token current? is the email
//! free? may the order go there? is there stock left?) and what its commit is; the
//! [`WritePolicy`] decides when the check happens relative to the commit. Correct, both
//! happen under one hold of the lock, so of N simultaneous requests exactly the ones the
//! state allows succeed. A race [`Bug`] releases the lock between the two and waits the
//! window, so every request that checks within the window commits on a stale check.
//! Locks are `std` mutexes: no lock is ever held across an `.await`.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};
use std::time::{Duration, Instant};

use serde_json::{Map, Value};

use super::window::{hold, WindowStats};
use super::Bug;

/// A JSON object as stored: the client's fields, without any server-managed ones.
pub(super) type Body = Map<String, Value>;

/// Locks `mutex`. A poisoned lock only means another handler panicked; every change is
/// made by one closure under the lock, so the data is still whole and the server keeps
/// serving.
pub(super) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// One stored document of the three dialects.
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
    /// Deleted (`DELETE /notes/{id}`): no precondition matches it any more, and it is
    /// taken out of its collection.
    pub deleted: bool,
}

impl Doc {
    /// A new document at version 1.
    fn new(body: Body) -> Doc {
        let digest = digest(1, &body);
        Doc {
            version: 1,
            body,
            digest,
            deleted: false,
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

    /// The document a successful write of `body` would have produced, without storing
    /// it: what `phantom-success` answers a loser with.
    fn as_if_written(&self, body: Body) -> Doc {
        let mut doc = self.clone();
        doc.store_body(body);
        doc.advance_version();
        doc
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

/// A value behind its own lock.
pub(super) type Cell<T> = Arc<Mutex<T>>;

/// One collection: id → value, with ids handed out from a counter.
#[derive(Debug)]
pub(super) struct Collection<T> {
    entries: RwLock<HashMap<String, Cell<T>>>,
    last_id: AtomicU64,
}

impl<T> Default for Collection<T> {
    fn default() -> Self {
        Collection {
            entries: RwLock::default(),
            last_id: AtomicU64::new(0),
        }
    }
}

impl<T: Clone> Collection<T> {
    /// An empty collection.
    pub fn new() -> Collection<T> {
        Collection::default()
    }

    /// The value with this id, if any; the map is locked only for the lookup.
    pub fn get(&self, id: &str) -> Option<Cell<T>> {
        let entries = self.entries.read().unwrap_or_else(PoisonError::into_inner);
        entries.get(id).cloned()
    }

    /// A copy of the value with this id, if any, read under its lock.
    pub fn read(&self, id: &str) -> Option<T> {
        let cell = self.get(id)?;
        let value = lock(&cell).clone();
        Some(value)
    }

    /// Stores a new value under the next free decimal id ("1", "2"...), skipping ids a
    /// client already chose, and returns the id.
    pub fn insert(&self, value: T) -> String {
        let mut entries = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        loop {
            let id = (self.last_id.fetch_add(1, Ordering::Relaxed) + 1).to_string();
            if !entries.contains_key(&id) {
                entries.insert(id.clone(), Arc::new(Mutex::new(value)));
                return id;
            }
        }
    }

    /// Takes the value with this id out of the collection.
    pub fn remove(&self, id: &str) {
        let mut entries = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        entries.remove(id);
    }

    /// Stores a new value under a client-chosen id, atomically: `false` if that id is
    /// already taken (so of N simultaneous creators exactly one succeeds).
    pub fn insert_at(&self, id: &str, value: T) -> bool {
        let mut entries = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        if entries.contains_key(id) {
            return false;
        }
        entries.insert(id.to_owned(), Arc::new(Mutex::new(value)));
        true
    }
}

impl Collection<Doc> {
    /// Stores `body` as a new document at version 1 under the next free id.
    pub fn create(&self, body: Body) -> (String, Doc) {
        let doc = Doc::new(body);
        let id = self.insert(doc.clone());
        (id, doc)
    }

    /// Stores `body` as a new document under a client-chosen id; `None` if it is taken.
    pub fn create_at(&self, id: &str, body: Body) -> Option<Doc> {
        let doc = Doc::new(body);
        self.insert_at(id, doc.clone()).then_some(doc)
    }
}

/// What a conditional write did, with the document as the write left it.
#[derive(Debug, Clone)]
pub(super) enum WriteOutcome {
    /// The precondition held (or the bug said so) and the body was committed; under
    /// `phantom-success` also a loser, with the document it was told it wrote.
    Applied(Doc),
    /// The precondition failed; the document is the current one the client lost to.
    Rejected(Doc),
}

/// The check-then-commit mechanism every guarded change goes through, where the race
/// and write [`Bug`]s are injected.
#[derive(Debug, Clone)]
pub(super) struct WritePolicy {
    bug: Option<Bug>,
    window: Duration,
    /// Every window a racy bug opened, as it really lasted from check to commit.
    windows: WindowStats,
}

/// How long a payment takes to process on a server without a bug, so that duplicates
/// sent together really overlap with the first.
const DEFAULT_PROCESSING: Duration = Duration::from_millis(10);

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

    /// Whether this bug is the one injected.
    pub fn has(&self, bug: Bug) -> bool {
        self.bug == Some(bug)
    }

    /// Whether a write without any version token must be refused with 428 (it is
    /// accepted under `no-428`).
    pub fn requires_precondition(&self) -> bool {
        !self.has(Bug::No428)
    }

    /// How long a payment is processed: the window when a bug is set, 10 ms otherwise.
    pub fn processing_time(&self) -> Duration {
        match self.bug {
            Some(_) => self.window,
            None => DEFAULT_PROCESSING,
        }
    }

    /// `phantom-success` for a write without a precondition: the document the write would
    /// have made, to answer with; nothing is stored.
    pub fn phantom(&self, cell: &Cell<Doc>, body: Body) -> Doc {
        lock(cell).as_if_written(body)
    }

    /// The one guarded step: `check` reads the state and either refuses (`Err`) or says
    /// what to commit; `commit` applies it and returns the answer.
    ///
    /// Correct, both run under one hold of `state`'s lock, so no other change can come
    /// between them. When `racy_under` is the injected bug, the lock is released after
    /// the check and the commit comes `window` later without checking again: every
    /// request that checks within the window commits on the same stale check.
    pub async fn check_then_commit<S, C, T, E>(
        &self,
        racy_under: Bug,
        state: &Mutex<S>,
        check: impl FnOnce(&S) -> Result<C, E>,
        commit: impl FnOnce(&mut S, C) -> T,
    ) -> Result<T, E> {
        if !self.has(racy_under) {
            let mut guard = lock(state);
            let checked = check(&guard)?;
            return Ok(commit(&mut guard, checked));
        }
        let checked = {
            let guard = lock(state);
            check(&guard)?
        };
        let opened = Instant::now();
        hold(self.window).await;
        let mut guard = lock(state);
        let done = commit(&mut guard, checked);
        self.windows.record(opened.elapsed());
        Ok(done)
    }

    /// Replaces the document's body with `body` if `token_matches` the document, and
    /// advances its version; otherwise leaves it alone. The dialect has already dealt
    /// with requests carrying no token at all, so only the comparison is left here.
    ///
    /// Correct, the comparison and the commit are one [`check_then_commit`] step. Each
    /// write bug changes exactly that sequence; see [`Bug`].
    ///
    /// [`check_then_commit`]: WritePolicy::check_then_commit
    pub async fn write(
        &self,
        cell: &Cell<Doc>,
        body: Body,
        token_matches: impl Fn(&Doc) -> bool,
    ) -> WriteOutcome {
        match self.bug {
            Some(Bug::IgnorePrecondition) => {
                // The token is never compared; the window stands in for the work a real
                // server would do between reading and writing.
                hold(self.window).await;
                let mut doc = lock(cell);
                doc.store_body(body);
                doc.advance_version();
                WriteOutcome::Applied(doc.clone())
            }
            Some(Bug::LoserApplied) => {
                let mut doc = lock(cell);
                doc.store_body(body);
                if !token_matches(&doc) {
                    return WriteOutcome::Rejected(doc.clone());
                }
                doc.advance_version();
                WriteOutcome::Applied(doc.clone())
            }
            _ => {
                let phantom_body = self.has(Bug::PhantomSuccess).then(|| body.clone());
                let advance = !self.has(Bug::StaleToken);
                let checked = self
                    .check_then_commit(
                        Bug::Toctou,
                        cell,
                        |doc| {
                            if token_matches(doc) {
                                Ok(())
                            } else {
                                Err(doc.clone())
                            }
                        },
                        |doc, ()| {
                            doc.store_body(body);
                            if advance {
                                doc.advance_version();
                            }
                            doc.clone()
                        },
                    )
                    .await;
                match (checked, phantom_body) {
                    (Ok(doc), _) => WriteOutcome::Applied(doc),
                    (Err(current), Some(body)) => {
                        WriteOutcome::Applied(current.as_if_written(body))
                    }
                    (Err(current), None) => WriteOutcome::Rejected(current),
                }
            }
        }
    }
}

impl WritePolicy {
    /// Deletes the document if `token_matches` it (a deleted one matches nothing);
    /// otherwise leaves it alone. Correct, the comparison and the deletion are one
    /// [`WritePolicy::check_then_commit`] step; `toctou` opens its window between them and
    /// `ignore-precondition` never compares.
    pub async fn delete(
        &self,
        cell: &Cell<Doc>,
        token_matches: impl Fn(&Doc) -> bool,
    ) -> WriteOutcome {
        if self.has(Bug::IgnorePrecondition) {
            hold(self.window).await;
            let mut doc = lock(cell);
            doc.deleted = true;
            return WriteOutcome::Applied(doc.clone());
        }
        let checked = self
            .check_then_commit(
                Bug::Toctou,
                cell,
                |doc| {
                    if !doc.deleted && token_matches(doc) {
                        Ok(())
                    } else {
                        Err(doc.clone())
                    }
                },
                |doc, ()| {
                    doc.deleted = true;
                    doc.clone()
                },
            )
            .await;
        match checked {
            Ok(doc) => WriteOutcome::Applied(doc),
            Err(current) => WriteOutcome::Rejected(current),
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

    /// Runs `requests` simultaneous check-then-commit steps on one counter that allows
    /// a single increment from zero, and returns how many committed.
    async fn simultaneous_increments_from_zero(policy: WritePolicy, requests: usize) -> usize {
        let counter = Arc::new(Mutex::new(0_u32));
        let policy = Arc::new(policy);
        let steps = (0..requests).map(|_| {
            let (counter, policy) = (counter.clone(), policy.clone());
            tokio::spawn(async move {
                policy
                    .check_then_commit(
                        Bug::DupCreate,
                        &counter,
                        |n| if *n == 0 { Ok(()) } else { Err(*n) },
                        |n, ()| *n += 1,
                    )
                    .await
            })
        });
        let results = futures::future::join_all(steps).await;
        let committed = results
            .into_iter()
            .filter(|result| matches!(result, Ok(Ok(()))))
            .count();
        assert_eq!(*lock(&counter) as usize, committed);
        committed
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn check_then_commit_is_atomic_unless_its_bug_is_injected() {
        let window = Duration::from_millis(100);
        let correct = WritePolicy::new(None, window);
        assert_eq!(simultaneous_increments_from_zero(correct, 8).await, 1);
        let other_bug = WritePolicy::new(Some(Bug::Oversell), window);
        assert_eq!(simultaneous_increments_from_zero(other_bug, 8).await, 1);
        // All eight check before the first commits, 100 ms later.
        let racy = WritePolicy::new(Some(Bug::DupCreate), window);
        assert_eq!(simultaneous_increments_from_zero(racy, 8).await, 8);
    }

    #[tokio::test]
    async fn phantom_success_answers_a_loser_as_a_winner_but_stores_nothing() {
        let collection = Collection::new();
        let (id, _) = collection.create(body(json!({"n": 1})));
        let cell = collection.get(&id).expect("created document");
        let policy = WritePolicy::new(Some(Bug::PhantomSuccess), Duration::ZERO);
        let stale = policy.write(&cell, body(json!({"n": 2})), |d| d.version == 7);
        match stale.await {
            WriteOutcome::Applied(told) => {
                assert_eq!(told.version, 2);
                assert_eq!(Value::Object(told.body), json!({"n": 2}));
            }
            other => panic!("expected a phantom success, got {other:?}"),
        }
        let stored = collection.read(&id).expect("still there");
        assert_eq!(stored.version, 1);
        assert_eq!(Value::Object(stored.body), json!({"n": 1}));
    }
}
