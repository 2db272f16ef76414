//! Test support: a reference server on an ephemeral port and a client for it.

use std::time::Duration;

use reqwest::header::HeaderMap;
use reqwest::{Client, RequestBuilder};
use serde_json::Value;

use super::{start, Bug, RunningServer, ServerConfig};

/// A started reference server and one keep-alive client for sequential requests.
pub(super) struct TestServer {
    server: RunningServer,
    client: Client,
}

/// A response, read to the end: status, headers and the body as JSON (`null` if empty).
#[derive(Debug)]
pub(super) struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Reply {
    /// A header's value as text, if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
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
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|err| panic!("body {text:?} is not JSON: {err}"))
    };
    Reply {
        status,
        headers,
        body,
    }
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

    /// `PUT path` with extra headers and a JSON body.
    pub async fn put(&self, path: &str, headers: &[(&str, &str)], body: &Value) -> Reply {
        let mut request = self.client.put(self.url(path));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        send(json_body(request, body)).await
    }

    /// `PUT path` with a raw body, for malformed-body tests.
    pub async fn put_raw(&self, path: &str, body: &'static str) -> Reply {
        send(self.client.put(self.url(path)).body(body)).await
    }

    /// Stops the server.
    pub async fn stop(self) {
        self.server.stop().await;
    }
}

/// Adds a JSON body and its content type.
fn json_body(request: RequestBuilder, body: &Value) -> RequestBuilder {
    request
        .header("content-type", "application/json")
        .body(body.to_string())
}
