//! Test support: a reference server on an ephemeral port, a client for it, bursts of
//! simultaneous requests over connections opened beforehand, and the three dialects
//! behind one face, so a bug-class test can tell the same story to each.

use std::collections::BTreeMap;
use std::time::Duration;

use futures::future::join_all;
use reqwest::header::HeaderMap;
use reqwest::{Client, RequestBuilder};
use serde_json::{json, Value};

use super::{start, Bug, RunningServer, ServerConfig};

/// A started reference server and one keep-alive client for sequential requests.
pub(super) struct TestServer {
    server: RunningServer,
    client: Client,
}

/// A response, read to the end: status, headers, the body as text and, when its
/// content type is JSON, as JSON (`null` otherwise or if empty).
#[derive(Debug)]
pub(super) struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub text: String,
    pub body: Value,
}

impl Reply {
    /// A header's value as text, if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }

    /// Whether the status is 2xx: the server says the write was applied.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// Sends a request and reads the whole response.
pub(super) async fn send(request: RequestBuilder) -> Reply {
    let response = request.send().await.expect("request to the test server");
    reply_of(response).await
}

/// Reads a whole response.
async fn reply_of(response: reqwest::Response) -> Reply {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.expect("response body");
    let is_json = headers
        .get("content-type")
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.contains("json"));
    let body = if text.is_empty() || !is_json {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|err| panic!("body {text:?} is not JSON: {err}"))
    };
    Reply {
        status,
        headers,
        text,
        body,
    }
}

/// How many replies got each status.
pub(super) fn statuses(replies: &[Reply]) -> BTreeMap<u16, usize> {
    let mut counts = BTreeMap::new();
    for reply in replies {
        *counts.entry(reply.status).or_default() += 1;
    }
    counts
}

impl TestServer {
    /// Starts a server with this configuration on 127.0.0.1 and an ephemeral port.
    pub async fn start(config: ServerConfig) -> TestServer {
        let addr = "127.0.0.1:0".parse().expect("literal socket address");
        let server = start(config, addr).await.expect("bind the test server");
        TestServer {
            server,
            client: Client::new(),
        }
    }

    /// A correct server.
    pub async fn correct() -> TestServer {
        TestServer::start(ServerConfig::default()).await
    }

    /// A server with one bug and a check-to-commit window.
    pub async fn with_bug(bug: Bug, window: Duration) -> TestServer {
        TestServer::start(ServerConfig {
            bug: Some(bug),
            window,
            ..ServerConfig::default()
        })
        .await
    }

    /// The full URL of a path on this server.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.server.base_url())
    }

    /// `GET path`.
    pub async fn get(&self, path: &str) -> Reply {
        send(self.client.get(self.url(path))).await
    }

    /// `POST path` with a JSON body.
    pub async fn post(&self, path: &str, body: &Value) -> Reply {
        send(json_body(self.client.post(self.url(path)), body)).await
    }

    /// `POST path` with extra headers and a JSON body.
    pub async fn post_with(&self, path: &str, headers: &[(&str, &str)], body: &Value) -> Reply {
        send(json_body(
            with_headers(self.client.post(self.url(path)), headers),
            body,
        ))
        .await
    }

    /// `PUT path` with extra headers and a JSON body.
    pub async fn put(&self, path: &str, headers: &[(&str, &str)], body: &Value) -> Reply {
        send(json_body(
            with_headers(self.client.put(self.url(path)), headers),
            body,
        ))
        .await
    }

    /// `PUT path` with a raw body, for malformed-body tests.
    pub async fn put_raw(&self, path: &str, body: &'static str) -> Reply {
        send(self.client.put(self.url(path)).body(body)).await
    }

    /// Writes `fields` to `target` in `dialect`'s way, with `token`.
    pub async fn write(
        &self,
        dialect: Dialect,
        target: &Written,
        token: &str,
        fields: &Value,
    ) -> Reply {
        send(dialect.write_request(&self.client, &self.url(&target.path), token, fields)).await
    }

    /// Fires `writers` simultaneous writes of `target` with the same `token` (see
    /// [`TestServer::burst`]). Writer `i` writes `{"writer": i}`.
    pub async fn race(
        &self,
        dialect: Dialect,
        target: &Written,
        token: &str,
        writers: usize,
    ) -> Vec<Reply> {
        let url = self.url(&target.path);
        self.burst(writers, |client, i| {
            dialect.write_request(client, &url, token, &json!({"writer": i}))
        })
        .await
    }

    /// Sends `count` requests at once, request `i` built by `request(client, i)`, each
    /// from its own client over a connection opened (by a health check) beforehand, so
    /// they reach the server within about a millisecond; returns every reply in order.
    pub async fn burst(
        &self,
        count: usize,
        request: impl Fn(&Client, usize) -> RequestBuilder,
    ) -> Vec<Reply> {
        let clients: Vec<Client> = (0..count).map(|_| Client::new()).collect();
        let health = self.url("/_contend/health");
        join_all(clients.iter().map(|client| send(client.get(&health)))).await;

        let requests: Vec<RequestBuilder> = clients
            .iter()
            .enumerate()
            .map(|(i, client)| request(client, i))
            .collect();
        let responses = join_all(requests.into_iter().map(RequestBuilder::send)).await;
        let mut replies = Vec::with_capacity(count);
        for response in responses {
            replies.push(reply_of(response.expect("request in a burst")).await);
        }
        replies
    }

    /// Stops the server.
    pub async fn stop(self) {
        self.server.stop().await;
    }
}

/// Adds these headers.
fn with_headers(mut request: RequestBuilder, headers: &[(&str, &str)]) -> RequestBuilder {
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request
}

/// Adds a JSON body and its content type.
pub(super) fn json_body(request: RequestBuilder, body: &Value) -> RequestBuilder {
    request
        .header("content-type", "application/json")
        .body(body.to_string())
}

/// The three dialects, so one story can be told to each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Dialect {
    /// `/notes`: `ETag` + `If-Match`.
    Notes,
    /// `/docs`: a JSON `version` field.
    Docs,
    /// `/db`: CouchDB `_rev`.
    Db,
}

/// A document just created: where it lives and the token it was created with.
#[derive(Debug, Clone)]
pub(super) struct Written {
    pub path: String,
    pub token: String,
}

/// A document as read back: its current token and its client fields.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Read {
    pub token: String,
    pub fields: Value,
}

impl Dialect {
    /// Every dialect.
    pub const ALL: [Dialect; 3] = [Dialect::Notes, Dialect::Docs, Dialect::Db];

    /// The collection's path.
    fn collection(self) -> &'static str {
        match self {
            Dialect::Notes => "/notes",
            Dialect::Docs => "/docs",
            Dialect::Db => "/db",
        }
    }

    /// The status a stale write gets.
    pub fn conflict_status(self) -> u16 {
        match self {
            Dialect::Notes => 412,
            Dialect::Docs | Dialect::Db => 409,
        }
    }

    /// The token a successful write (or a create) answered with.
    pub fn token_of_write(self, reply: &Reply) -> String {
        let token = match self {
            Dialect::Notes => reply.header("etag").map(str::to_owned),
            Dialect::Docs => reply.body["version"].as_u64().map(|v| v.to_string()),
            Dialect::Db => reply.body["rev"].as_str().map(str::to_owned),
        };
        token.unwrap_or_else(|| panic!("{self:?} write reply without a token: {reply:?}"))
    }

    /// Creates a document with `fields`.
    pub async fn create(self, server: &TestServer, fields: &Value) -> Written {
        let reply = server.post(self.collection(), fields).await;
        assert_eq!(reply.status, 201, "{self:?} create: {reply:?}");
        let location = reply.header("location").expect("Location on create");
        Written {
            path: location.to_owned(),
            token: self.token_of_write(&reply),
        }
    }

    /// Reads a document back: its current token and client fields.
    pub async fn read(self, server: &TestServer, path: &str) -> Read {
        let reply = server.get(path).await;
        assert_eq!(reply.status, 200, "{self:?} read: {reply:?}");
        let mut fields = reply.body.clone();
        let token = match self {
            Dialect::Notes => reply.header("etag").map(str::to_owned),
            Dialect::Docs => {
                let object = fields.as_object_mut().expect("object body");
                object.remove("id");
                object
                    .remove("version")
                    .and_then(|v| v.as_u64())
                    .map(|v| v.to_string())
            }
            Dialect::Db => {
                let object = fields.as_object_mut().expect("object body");
                object.remove("_id");
                object
                    .remove("_rev")
                    .and_then(|v| v.as_str().map(str::to_owned))
            }
        };
        Read {
            token: token.unwrap_or_else(|| panic!("{self:?} read without a token: {reply:?}")),
            fields,
        }
    }

    /// A write of `fields` to `url`, carrying `token` where this dialect expects it.
    fn write_request(
        self,
        client: &Client,
        url: &str,
        token: &str,
        fields: &Value,
    ) -> RequestBuilder {
        let mut body = fields.clone();
        let object = body.as_object_mut().expect("fields must be an object");
        match self {
            Dialect::Notes => return json_body(client.put(url).header("if-match", token), &body),
            Dialect::Docs => {
                let version: u64 = token.parse().expect("a docs token is a version number");
                object.insert("version".to_owned(), json!(version));
            }
            Dialect::Db => {
                object.insert("_rev".to_owned(), json!(token));
            }
        }
        json_body(client.put(url), &body)
    }
}
