//! Sending a scenario's requests: [`RequestBuilder`] renders them, and [`Writers`]
//! releases a round's writes together in the scenario's sync mode.
//!
//! `Writers` is the façade every workload that races goes through: it holds one
//! `Race` (the sync mode, from the `race` module), tags each raced write for the
//! reference server's arrival stamps ([`crate::protocol`]) and fetches them after the
//! race. Set-up, reads and the counter's writers use a reqwest connection of
//! [`super::exchange`]; the `sustained` workload uses the raw HTTP/1.1 client of the
//! `race` module, which costs less per request. In every mode a round's requests are
//! rendered before the release, and every request of the round is answered and
//! recorded alike.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use reqwest::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_TYPE};

use std::sync::Arc;

use super::cookies::{Conn, Cookies};
use super::exchange::{connection, ClientSettings, Exchange, Prepared};
use super::race::{self, Race};
use super::setup::Captures;
use crate::protocol::REQUEST_ID_HEADER;
use crate::scenario::template::Vars;
use crate::scenario::{Body, RequestTemplate, Scenario, SharedQuery, SyncMode, Template};

/// Renders request templates against a base URL, with what every request of the
/// scenario carries: its common headers (and `[auth]`'s `Authorization`), its shared
/// query, the set-up steps' captures, and, with `[auth] cookies`, each connection's
/// cookies. Clones share the captures and the cookie jars.
#[derive(Debug, Clone)]
pub struct RequestBuilder {
    base: url::Url,
    /// Headers every request carries; one that uses a capture is left out until the
    /// capture has a value (the login step goes without the token it fetches).
    common_headers: Vec<(String, Template)>,
    query: Option<SharedQuery>,
    captures: Captures,
    cookies: Option<Arc<Cookies>>,
    joined: Joined,
}

/// The URLs a builder joined onto its base, by the path rendered. A sustained run sends
/// the same few paths again and again, and joining one (parsing a URL) costs more than
/// rendering the rest of the request. Joining is a function of the base and the path
/// alone, so a URL found here is the one joining would give. Each clone of the builder
/// (each writer's) keeps its own, so writers never wait on one another.
#[derive(Debug, Default)]
struct Joined(std::sync::Mutex<HashMap<String, url::Url>>);

impl Joined {
    /// How many paths are kept; past it the builder starts afresh (paths that change
    /// every round would otherwise pile up).
    const MAX: usize = 64;
}

impl Clone for Joined {
    fn clone(&self) -> Self {
        Joined::default()
    }
}

impl RequestBuilder {
    /// A builder with common headers only (no captures, query or cookies).
    pub fn new(base: url::Url, common_headers: Vec<(String, Template)>) -> Self {
        RequestBuilder {
            base,
            common_headers,
            query: None,
            captures: Captures::default(),
            cookies: None,
            joined: Joined::default(),
        }
    }

    /// The builder of `scenario`'s requests, sharing `captures` and `cookies`.
    pub fn for_scenario(
        base: url::Url,
        scenario: &Scenario,
        captures: Captures,
        cookies: Option<Arc<Cookies>>,
    ) -> Self {
        let mut common_headers = scenario.headers.clone();
        // The parser refuses an Authorization header beside [auth] credentials.
        if let Some(credentials) = &scenario.auth.credentials {
            common_headers.push((
                "Authorization".to_string(),
                crate::scenario::authorization(credentials),
            ));
        }
        RequestBuilder {
            base,
            common_headers,
            query: scenario.query.clone(),
            captures,
            cookies,
            joined: Joined::default(),
        }
    }

    /// `path` joined onto the base URL.
    fn join(&self, path: &str) -> Result<url::Url, String> {
        if let Some(url) = self.joined.0.lock().ok().and_then(|j| j.get(path).cloned()) {
            return Ok(url);
        }
        let url = self
            .base
            .join(path)
            .map_err(|e| format!("cannot join `{path}` onto {}: {e}", self.base))?;
        if let Ok(mut joined) = self.joined.0.lock() {
            if joined.len() >= Joined::MAX {
                joined.clear();
            }
            joined.insert(path.to_string(), url.clone());
        }
        Ok(url)
    }

    /// Renders a template with the captures (the resource's `id`, say).
    pub fn render(&self, template: &Template, vars: &Vars) -> String {
        template.render(&self.with_captures(vars, template.uses_captures()))
    }

    /// `vars` with the captures made so far, unless it has them or the templates about
    /// to be rendered use none (`needed`), which spares a copy of every value.
    fn with_captures<'v>(&self, vars: &'v Vars, needed: bool) -> Cow<'v, Vars> {
        if !needed || vars.captured.is_some() {
            return Cow::Borrowed(vars);
        }
        let mut vars = vars.clone();
        vars.captured = Some(self.captures.snapshot());
        Cow::Owned(vars)
    }

    /// Whether rendering `template` reads a capture: in its own parts, or in the common
    /// headers and shared query every request carries.
    fn uses_captures(&self, template: &RequestTemplate) -> bool {
        let own = template.path.uses_captures()
            || template.query.iter().any(|(_, v)| v.uses_captures())
            || template.headers.iter().any(|(_, v)| v.uses_captures())
            || match &template.body {
                Body::None => false,
                Body::Json(t) => t.uses_captures(),
                Body::Text(t) => t.uses_captures(),
            };
        let common = self.common_headers.iter().any(|(_, v)| v.uses_captures())
            || match &self.query {
                Some(SharedQuery::Pairs(shared)) => shared.iter().any(|(_, v)| v.uses_captures()),
                Some(SharedQuery::Raw(_)) | None => false,
            };
        own || common
    }

    /// Renders one request for the reader connection (set-up, reads, verification).
    pub fn prepare(&self, template: &RequestTemplate, vars: &Vars) -> Result<Prepared, String> {
        self.prepare_on(Conn::Reader, template, vars)
    }

    /// Renders one request for writer `w`'s connection.
    pub fn prepare_for(
        &self,
        w: u32,
        template: &RequestTemplate,
        vars: &Vars,
    ) -> Result<Prepared, String> {
        self.prepare_on(Conn::Writer(w), template, vars)
    }

    /// Takes in the cookies an answer on `conn` set (with `[auth] cookies`).
    pub fn remember(&self, conn: Conn, prepared: &Prepared, exchange: &Exchange) {
        if let Some(cookies) = &self.cookies {
            cookies.remember(conn, &prepared.url, &exchange.headers);
        }
    }

    /// Renders one request for a connection. Fails only on values no HTTP request can
    /// carry (a header value with a newline, a path that is not a URL), which the caller
    /// reports.
    pub fn prepare_on(
        &self,
        conn: Conn,
        template: &RequestTemplate,
        vars: &Vars,
    ) -> Result<Prepared, String> {
        let vars = &*self.with_captures(vars, self.uses_captures(template));
        let method = reqwest::Method::from_bytes(template.method.as_bytes())
            .map_err(|_| format!("invalid method `{}`", template.method))?;
        let path = template.path.render(vars);
        let mut url = self.join(&path)?;
        if !template.query.is_empty() {
            let mut pairs = url.query_pairs_mut();
            for (k, v) in &template.query {
                pairs.append_pair(k, &v.render(vars));
            }
        }
        match &self.query {
            None => {}
            Some(SharedQuery::Pairs(shared)) => {
                let mut pairs = url.query_pairs_mut();
                for (k, v) in shared {
                    pairs.append_pair(k, &v.render(vars));
                }
            }
            // Sent byte for byte: a signature decoded and encoded again may differ.
            Some(SharedQuery::Raw(raw)) => {
                let query = match url.query() {
                    Some(own) if !own.is_empty() => format!("{own}&{raw}"),
                    _ => raw.clone(),
                };
                url.set_query(Some(&query));
            }
        }
        let mut headers = HeaderMap::new();
        let common = self
            .common_headers
            .iter()
            .filter(|(_, value)| value.captures_ready(vars));
        for (name, value) in common.chain(&template.headers) {
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
                Some(t.render(vars))
            }
            Body::Text(t) => Some(t.render(vars).into_bytes()),
        };
        if let Some(cookies) = &self.cookies {
            cookies.apply(conn, &url, &mut headers);
        }
        Ok(Prepared {
            method,
            url,
            headers,
            body,
        })
    }
}

/// The writers of a scenario: their connections, kept warm across rounds or replaced
/// every round ([`Writers::reconnect`]), and the way the scenario's sync mode releases a
/// round's writes.
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

    /// Checks, on connections of its own, that `mode` can race `n` writers at `url`'s
    /// origin (single-packet: HTTP/2 is spoken and a stream per writer allowed;
    /// last-byte: HTTP/1.1 is answered; barrier: nothing to check). The error says why
    /// not.
    pub async fn check(
        mode: SyncMode,
        n: u32,
        settings: &ClientSettings,
        url: &url::Url,
    ) -> Result<(), String> {
        race::check(mode, n as usize, settings, url).await
    }

    /// How many writers there are.
    pub fn len(&self) -> usize {
        self.n
    }

    /// True when there are no writers.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// Closes every writer's connection and starts afresh: the next requests (the
    /// round's warm-ups) open new ones, which a server of several worker processes
    /// places again. Request ids go on where they were, so they stay unique in the run.
    pub fn reconnect(&mut self) -> Result<(), String> {
        self.mode.reconnect()
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
    use crate::scenario::JsonTemplate;
    use serde_json::json;

    fn template(method: &str, path: &str) -> RequestTemplate {
        RequestTemplate {
            method: method.into(),
            path: Template::parse(path).unwrap(),
            query: vec![("rev".into(), Template::parse("{version}").unwrap())],
            headers: vec![("If-Match".into(), Template::parse("{version}").unwrap())],
            body: Body::Json(JsonTemplate::new(
                json!({"version": "{version}", "text": "{marker}"}),
            )),
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
    fn a_path_sent_again_is_joined_as_the_first_time_with_only_its_own_query() {
        let base = url::Url::parse("http://127.0.0.1:9/api/v1/").unwrap();
        let builder = RequestBuilder::new(base.clone(), vec![]);
        for round in 0..3 * Joined::MAX as u32 {
            for path in ["docs/4", "/docs/4", "../x?a=1", "http://other:1/y", "{id}"] {
                let vars = Vars {
                    id: Some(format!("n/{}", round % (2 * Joined::MAX as u32))),
                    version: Some(json!(round)),
                    ..Vars::default()
                };
                let p = builder.prepare(&template("GET", path), &vars).unwrap();
                let mut expected = base
                    .join(&Template::parse(path).unwrap().render(&vars))
                    .unwrap();
                expected
                    .query_pairs_mut()
                    .append_pair("rev", &round.to_string());
                assert_eq!(p.url, expected, "{path} in round {round}");
            }
        }
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
}
