//! Sending requests: rendering them, one warmed connection per reader or writer, and
//! [`Writers`], which releases a round's writes together in the scenario's sync mode.
//!
//! Set-up, reads and the barrier mode use `reqwest` (the `sustained` workload uses the
//! raw HTTP/1.1 client of the `race` module, which costs less per request). Each writer owns a client whose pool
//! holds one idle connection, so no two writers share a connection and no pool limit or
//! lock sits between them. The last-byte and single-packet modes need control below
//! reqwest and live in the `race` module. In every mode a round's requests are rendered
//! before the release, and every request of the round is answered and recorded alike.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_TYPE};

use super::race::{self, Race};
use crate::history::Outcome;
use crate::scenario::template::{render_json, Vars};
use crate::scenario::{Body, RequestTemplate, SyncMode, Template};
use crate::server::REQUEST_ID_HEADER;

/// Longest response body kept in a record.
pub const BODY_LIMIT: usize = 64 * 1024;

/// A request ready to send: templates rendered, URL joined.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub method: reqwest::Method,
    pub url: url::Url,
    pub headers: HeaderMap,
    pub body: Option<Vec<u8>>,
}

/// What came back from one request, or why nothing did.
#[derive(Debug, Clone)]
pub struct Exchange {
    pub status: Option<u16>,
    pub headers: HeaderMap,
    pub body: String,
    /// Set when the request failed without a complete response.
    pub failure: Option<Failure>,
    /// When the request was sent. For a raced write, its release: when the send began
    /// (barrier), or when its final bytes were written (last-byte, single-packet).
    pub start: Instant,
    /// When the whole response had been read (or the request failed).
    pub end: Instant,
    /// Built-in server only: when the request's last byte reached the server, in ns on
    /// the server's clock (comparable only with other arrivals).
    pub arrival_ns: Option<u64>,
}

/// A request that got no (complete) response.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    /// `NotSent` when the connection could not be made; `Indeterminate` otherwise.
    pub outcome: Outcome,
    pub message: String,
}

/// Renders request templates against a base URL and the scenario's common headers.
#[derive(Debug, Clone)]
pub struct RequestBuilder {
    base: url::Url,
    common_headers: Vec<(String, Template)>,
}

impl RequestBuilder {
    pub fn new(base: url::Url, common_headers: Vec<(String, Template)>) -> Self {
        RequestBuilder {
            base,
            common_headers,
        }
    }

    /// Renders one request. Fails only on values no HTTP request can carry (a header
    /// value with a newline, a path that is not a URL), which the caller reports.
    pub fn prepare(&self, template: &RequestTemplate, vars: &Vars) -> Result<Prepared, String> {
        let method = reqwest::Method::from_bytes(template.method.as_bytes())
            .map_err(|_| format!("invalid method `{}`", template.method))?;
        let path = template.path.render(vars);
        let mut url = self
            .base
            .join(&path)
            .map_err(|e| format!("cannot join `{path}` onto {}: {e}", self.base))?;
        if !template.query.is_empty() {
            let mut pairs = url.query_pairs_mut();
            for (k, v) in &template.query {
                pairs.append_pair(k, &v.render(vars));
            }
        }
        let mut headers = HeaderMap::new();
        for (name, value) in self.common_headers.iter().chain(&template.headers) {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| format!("invalid header name `{name}`"))?;
            let rendered = value.render(vars);
            let value = HeaderValue::from_str(&rendered)
                .map_err(|_| format!("header {name} cannot carry the value {rendered:?}"))?;
            headers.insert(name, value);
        }
        let body = match &template.body {
            Body::None => None,
            Body::Json(t) => {
                if !headers.contains_key(CONTENT_TYPE) {
                    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
                }
                Some(render_json(t, vars).to_string().into_bytes())
            }
            Body::Text(t) => Some(t.render(vars).into_bytes()),
        };
        Ok(Prepared {
            method,
            url,
            headers,
            body,
        })
    }
}

/// Settings shared by every connection of a scenario.
#[derive(Debug, Clone)]
pub struct ClientSettings {
    /// Per request; a slower answer is indeterminate.
    pub timeout: Duration,
    /// How [`Writers::race`] releases a round's writes.
    pub sync: SyncMode,
    /// Where to fetch the server's arrival stamps after each race (the built-in
    /// server's `/_contend/arrivals`), if the target has them.
    pub arrivals: Option<url::Url>,
    /// Extra root certificates (DER) trusted for https, besides the web's (`--ca-cert`).
    pub ca_certs: Arc<Vec<Vec<u8>>>,
}

impl ClientSettings {
    /// Barrier mode, no arrival stamps.
    pub fn new(timeout: Duration) -> Self {
        ClientSettings {
            timeout,
            sync: SyncMode::Barrier,
            arrivals: None,
            ca_certs: Arc::default(),
        }
    }
}

/// Builds a client that keeps at most one idle connection: one writer's connection.
///
/// In single-packet mode the target must speak HTTP/2 with prior knowledge (h2c), and may
/// speak nothing else (nginx's `listen … http2` without TLS), so every other request of
/// the scenario uses it too.
pub fn connection(settings: &ClientSettings) -> Result<reqwest::Client, String> {
    let mut builder = reqwest::Client::builder();
    if settings.sync == SyncMode::SinglePacket {
        // Over https, it offers only h2 by ALPN.
        builder = builder.http2_prior_knowledge();
    }
    for der in settings.ca_certs.iter() {
        let cert = reqwest::Certificate::from_der(der)
            .map_err(|e| format!("a --ca-cert certificate cannot be used: {e}"))?;
        builder = builder.add_root_certificate(cert);
    }
    builder
        .timeout(settings.timeout)
        .connect_timeout(settings.timeout)
        .pool_max_idle_per_host(1)
        .pool_idle_timeout(None)
        .tcp_nodelay(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| format!("cannot build an HTTP client: {e}"))
}

pub(super) fn to_request(
    client: &reqwest::Client,
    p: Prepared,
) -> Result<reqwest::Request, reqwest::Error> {
    let mut b = client.request(p.method, p.url).headers(p.headers);
    if let Some(body) = p.body {
        b = b.body(body);
    }
    b.build()
}

/// Sends one request and reads its whole response.
pub async fn send(client: &reqwest::Client, prepared: Prepared) -> Exchange {
    let start = Instant::now();
    match to_request(client, prepared) {
        Ok(request) => execute(client, request, start).await,
        Err(e) => failed(start, Outcome::NotSent, describe(&e)),
    }
}

pub(super) async fn execute(
    client: &reqwest::Client,
    request: reqwest::Request,
    start: Instant,
) -> Exchange {
    match client.execute(request).await {
        Ok(response) => {
            let status = response.status().as_u16();
            let headers = response.headers().clone();
            let (body, failure) = match response.bytes().await {
                Ok(bytes) => (cut(&bytes), None),
                // The status already says how the write ended; keep it, note the error.
                Err(e) => (
                    String::new(),
                    Some(Failure {
                        outcome: Outcome::Indeterminate,
                        message: format!("reading the body: {}", describe(&e)),
                    }),
                ),
            };
            Exchange {
                status: Some(status),
                headers,
                body,
                failure,
                start,
                end: Instant::now(),
                arrival_ns: None,
            }
        }
        Err(e) => {
            let outcome = if e.is_connect() {
                Outcome::NotSent
            } else {
                Outcome::Indeterminate
            };
            failed(start, outcome, describe(&e))
        }
    }
}

/// An exchange that got no response, ending now.
pub(super) fn failed(start: Instant, outcome: Outcome, message: String) -> Exchange {
    Exchange {
        status: None,
        headers: HeaderMap::new(),
        body: String::new(),
        failure: Some(Failure { outcome, message }),
        start,
        end: Instant::now(),
        arrival_ns: None,
    }
}

/// A short account of a failed request: what failed and the innermost cause
/// ("cannot connect: Connection refused (os error 111)").
pub(super) fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        return "timed out".to_string();
    }
    let mut root: &dyn std::error::Error = e;
    while let Some(source) = root.source() {
        root = source;
    }
    let what = if e.is_connect() {
        "cannot connect"
    } else if e.is_body() || e.is_decode() {
        "reading the response failed"
    } else {
        "request failed"
    };
    format!("{what}: {root}")
}

/// A response body as text, cut at [`BODY_LIMIT`] on a character boundary.
pub(super) fn cut(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(BODY_LIMIT)]);
    text.into_owned()
}

/// The writers of a scenario: their connections, kept warm across rounds, and the way
/// the scenario's sync mode releases a round's writes.
pub struct Writers {
    n: usize,
    mode: Box<dyn Race>,
    /// Fetches arrival stamps after each race, when the target has them.
    arrivals: Option<(reqwest::Client, url::Url)>,
    /// Tags each raced write with a run-unique id (the [`REQUEST_ID_HEADER`] header).
    tag: String,
    next_id: AtomicU64,
}

impl Writers {
    /// `n` writers in `settings.sync` mode. Connections open lazily, to the origin of
    /// the first request each one sends, or at [`Writers::ready`].
    pub fn new(n: u32, settings: &ClientSettings) -> Result<Self, String> {
        let n = n as usize;
        let mode = race::for_mode(n, settings)?;
        let arrivals = match &settings.arrivals {
            Some(url) => Some((connection(settings)?, url.clone())),
            None => None,
        };
        Ok(Writers {
            n,
            mode,
            arrivals,
            tag: format!("{:08x}", rand::random::<u32>()),
            next_id: AtomicU64::new(0),
        })
    }

    /// How many writers there are.
    pub fn len(&self) -> usize {
        self.n
    }

    /// True when there are no writers.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// Opens every connection to `url`'s origin and checks that it can be raced in this
    /// mode (single-packet: that it speaks HTTP/2 and allows a stream per writer). The
    /// error says why not, for the scenario to stop with.
    pub async fn ready(&self, url: &url::Url) -> Result<(), String> {
        self.mode.ready(url).await
    }

    /// Sends one request per writer, each on its writer's connection, all at once; the
    /// answers come back in writer order. Used to open and warm connections.
    pub async fn each(&self, requests: Vec<Prepared>) -> Vec<Exchange> {
        self.mode.each(requests).await
    }

    /// Releases one request per writer together and returns the answers in writer order.
    ///
    /// Every request is rendered before the call; the mode only sends. Each write is
    /// tagged with a [`REQUEST_ID_HEADER`] header so that, against the built-in server,
    /// the instant its last byte arrived is fetched afterwards into `arrival_ns`.
    pub async fn race(&self, mut requests: Vec<Prepared>) -> Vec<Exchange> {
        let ids: Vec<String> = requests
            .iter_mut()
            .map(|p| {
                let n = self.next_id.fetch_add(1, Ordering::Relaxed);
                let id = format!("{}-{n}", self.tag);
                if let Ok(value) = HeaderValue::from_str(&id) {
                    p.headers.insert(REQUEST_ID_HEADER, value);
                }
                id
            })
            .collect();
        let mut answers = self.mode.race(requests).await;
        if let Some((client, url)) = &self.arrivals {
            let stamps = fetch_arrivals(client, url, &ids).await;
            for (exchange, id) in answers.iter_mut().zip(&ids) {
                exchange.arrival_ns = stamps.get(id).copied();
            }
        }
        answers
    }
}

/// The server's arrival stamps for these request ids; empty when they cannot be had
/// (the figures are then missing from the reports, nothing else changes).
async fn fetch_arrivals(
    client: &reqwest::Client,
    url: &url::Url,
    ids: &[String],
) -> std::collections::HashMap<String, u64> {
    #[derive(serde::Deserialize)]
    struct Stamps {
        arrivals: std::collections::HashMap<String, u64>,
    }
    let mut url = url.clone();
    url.query_pairs_mut().append_pair("ids", &ids.join(","));
    let response = match client.get(url).send().await {
        Ok(r) if r.status().is_success() => r,
        _ => return Default::default(),
    };
    match response.bytes().await {
        Ok(bytes) => serde_json::from_slice::<Stamps>(&bytes)
            .map(|s| s.arrivals)
            .unwrap_or_default(),
        Err(_) => Default::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn template(method: &str, path: &str) -> RequestTemplate {
        RequestTemplate {
            method: method.into(),
            path: Template::parse(path).unwrap(),
            query: vec![("rev".into(), Template::parse("{version}").unwrap())],
            headers: vec![("If-Match".into(), Template::parse("{version}").unwrap())],
            body: Body::Json(json!({"version": "{version}", "text": "{marker}"})),
        }
    }

    #[test]
    fn prepare_renders_path_query_headers_and_a_typed_json_body() {
        let builder = RequestBuilder::new(
            url::Url::parse("http://127.0.0.1:9/").unwrap(),
            vec![("Authorization".into(), Template::literal("Bearer s3cret"))],
        );
        let vars = Vars {
            id: Some("/docs/4".into()),
            version: Some(json!(7)),
            marker: Some("m1".into()),
            ..Vars::default()
        };
        let p = builder.prepare(&template("PUT", "{id}"), &vars).unwrap();
        assert_eq!(p.method, reqwest::Method::PUT);
        assert_eq!(p.url.as_str(), "http://127.0.0.1:9/docs/4?rev=7");
        assert_eq!(p.headers["if-match"], "7");
        assert_eq!(p.headers["authorization"], "Bearer s3cret");
        assert_eq!(p.headers["content-type"], "application/json");
        let body: serde_json::Value = serde_json::from_slice(p.body.as_deref().unwrap()).unwrap();
        assert_eq!(body, json!({"version": 7, "text": "m1"}));
    }

    #[test]
    fn prepare_refuses_a_header_value_no_request_can_carry() {
        let builder = RequestBuilder::new(url::Url::parse("http://127.0.0.1:9/").unwrap(), vec![]);
        let vars = Vars {
            id: Some("/x".into()),
            version: Some(json!("a\nb")),
            ..Vars::default()
        };
        let err = builder
            .prepare(&template("PUT", "{id}"), &vars)
            .unwrap_err();
        assert!(
            err.contains("If-Match") || err.contains("if-match"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn a_refused_connection_is_not_sent_and_never_indeterminate() {
        let client = connection(&ClientSettings::new(Duration::from_secs(2))).unwrap();
        let builder = RequestBuilder::new(url::Url::parse("http://127.0.0.1:1/").unwrap(), vec![]);
        let p = builder
            .prepare(&template("PUT", "/x"), &Vars::default())
            .unwrap();
        let exchange = send(&client, p).await;
        assert_eq!(exchange.status, None);
        assert_eq!(exchange.failure.map(|f| f.outcome), Some(Outcome::NotSent));
    }

    #[tokio::test]
    async fn a_timeout_after_sending_is_indeterminate() {
        // A listener that accepts and never answers.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let hold = tokio::spawn(async move {
            let (_socket, _) = listener.accept().await.unwrap();
            tokio::time::sleep(Duration::from_secs(5)).await;
        });
        let client = connection(&ClientSettings::new(Duration::from_millis(200))).unwrap();
        let builder =
            RequestBuilder::new(url::Url::parse(&format!("http://{addr}/")).unwrap(), vec![]);
        let p = builder
            .prepare(&template("PUT", "/x"), &Vars::default())
            .unwrap();
        let exchange = send(&client, p).await;
        hold.abort();
        let failure = exchange.failure.unwrap();
        assert_eq!(failure.outcome, Outcome::Indeterminate);
        assert!(failure.message.contains("timed out"), "{}", failure.message);
    }
}
