//! Cookies, kept per connection, for `[auth] cookies = true`.
//!
//! A browser keeps one jar; a race has many connections, and a server may set a cookie
//! on one of them (a CSRF token that rotates, a sticky-session cookie) that belongs to
//! that connection only. So there are two layers: the *session* jar holds what the
//! set-up steps and the reader connection's answers set (a login's session cookie), and
//! every writer's connection has a jar of its own for what its answers set. A request
//! carries both, its connection's cookies winning by name. The jars live beside the
//! request builder rather than inside any client, so every sync mode (reqwest, the raw
//! HTTP/1.1 client, HTTP/2 streams) sends the same `Cookie` header.
//!
//! Scope is kept simple, as fits a test tool talking to one target: a cookie goes back
//! to the host that set it, whatever its `Path` or `Domain`; `Max-Age=0` or an `Expires`
//! in the past removes it. Every value kept is registered as a secret.

use std::sync::{Mutex, PoisonError};

use reqwest::header::{HeaderMap, HeaderValue, COOKIE, SET_COOKIE};

use crate::scenario::Secrets;

/// Which connection a request goes out on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conn {
    /// The scenario's own connection: set-up steps, reads, verification.
    Reader,
    /// Writer `w`'s connection (a counter's or sustained workload's too).
    Writer(u32),
}

/// One jar: `(host, name, value)`, in the order set.
#[derive(Debug, Default, Clone)]
struct Jar {
    cookies: Vec<(String, String, String)>,
}

impl Jar {
    /// Takes in every `Set-Cookie` of an answer from `host`; returns the values stored.
    fn update(&mut self, host: &str, headers: &HeaderMap) -> Vec<String> {
        let mut stored = Vec::new();
        for line in headers.get_all(SET_COOKIE) {
            let Ok(line) = line.to_str() else { continue };
            let Some((name, value, expired)) = parse_set_cookie(line) else {
                continue;
            };
            self.cookies.retain(|(h, n, _)| !(h == host && *n == name));
            if !expired {
                stored.push(value.clone());
                self.cookies.push((host.to_string(), name, value));
            }
        }
        stored
    }

    /// This jar's cookies for `host`.
    fn for_host<'a>(&'a self, host: &'a str) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
        self.cookies
            .iter()
            .filter(move |(h, _, _)| h == host)
            .map(|(_, n, v)| (n.as_str(), v.as_str()))
    }
}

/// A `Set-Cookie` line's name and value, and whether it removes the cookie.
pub fn parse_set_cookie(line: &str) -> Option<(String, String, bool)> {
    let mut parts = line.split(';');
    let (name, value) = parts.next()?.split_once('=')?;
    let name = name.trim();
    if name.is_empty() {
        return None;
    }
    let value = value.trim().trim_matches('"');
    let mut expired = false;
    for attribute in parts {
        let (key, val) = attribute.split_once('=').unwrap_or((attribute, ""));
        match key.trim().to_ascii_lowercase().as_str() {
            "max-age" => expired |= val.trim().parse::<i64>().is_ok_and(|age| age <= 0),
            "expires" => {
                expired |= httpdate_in_the_past(val.trim());
            }
            _ => {}
        }
    }
    Some((name.to_string(), value.to_string(), expired))
}

/// Whether an `Expires` date is in the past; a date that does not parse is not.
fn httpdate_in_the_past(text: &str) -> bool {
    humantime::parse_rfc3339_weak(text)
        .ok()
        .or_else(|| parse_imf_fixdate(text))
        .is_some_and(|at| at < std::time::SystemTime::now())
}

/// `Thu, 01 Jan 1970 00:00:00 GMT` (RFC 9110 §5.6.7's IMF-fixdate) as a time.
fn parse_imf_fixdate(text: &str) -> Option<std::time::SystemTime> {
    let mut words = text.split_whitespace().skip(1);
    let day: u64 = words.next()?.parse().ok()?;
    let month = match words.next()? {
        "Jan" => 1,
        "Feb" => 2,
        "Mar" => 3,
        "Apr" => 4,
        "May" => 5,
        "Jun" => 6,
        "Jul" => 7,
        "Aug" => 8,
        "Sep" => 9,
        "Oct" => 10,
        "Nov" => 11,
        "Dec" => 12,
        _ => return None,
    };
    let year: u64 = words.next()?.parse().ok()?;
    let time = words.next()?;
    let rfc3339 = format!("{year:04}-{month:02}-{day:02}T{time}Z");
    humantime::parse_rfc3339(&rfc3339).ok()
}

/// The session's jar and every writer's, for one scenario.
#[derive(Debug)]
pub struct Cookies {
    session: Mutex<Jar>,
    writers: Mutex<Vec<Jar>>,
    secrets: Secrets,
}

impl Cookies {
    /// Empty jars; every value stored becomes one of `secrets`.
    pub fn new(secrets: Secrets) -> Cookies {
        Cookies {
            session: Mutex::default(),
            writers: Mutex::default(),
            secrets,
        }
    }

    /// Takes in the `Set-Cookie`s of an answer that came on `conn` from `url`'s host.
    pub fn remember(&self, conn: Conn, url: &url::Url, headers: &HeaderMap) {
        if !headers.contains_key(SET_COOKIE) {
            return;
        }
        let host = url.host_str().unwrap_or_default();
        let stored = match conn {
            Conn::Reader => self
                .session
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .update(host, headers),
            Conn::Writer(w) => {
                let mut writers = self.writers.lock().unwrap_or_else(PoisonError::into_inner);
                let w = w as usize;
                if writers.len() <= w {
                    writers.resize_with(w + 1, Jar::default);
                }
                writers[w].update(host, headers)
            }
        };
        for value in stored {
            self.secrets.learn(&value);
        }
    }

    /// The `Cookie` header a request on `conn` to `url` carries, if it carries any.
    pub fn header(&self, conn: Conn, url: &url::Url) -> Option<HeaderValue> {
        let host = url.host_str().unwrap_or_default();
        let session = self.session.lock().unwrap_or_else(PoisonError::into_inner);
        let writers = self.writers.lock().unwrap_or_else(PoisonError::into_inner);
        let own = match conn {
            Conn::Reader => None,
            Conn::Writer(w) => writers.get(w as usize),
        };
        let mut pairs: Vec<(&str, &str)> =
            own.map(|j| j.for_host(host).collect()).unwrap_or_default();
        for (name, value) in session.for_host(host) {
            if !pairs.iter().any(|(n, _)| *n == name) {
                pairs.push((name, value));
            }
        }
        if pairs.is_empty() {
            return None;
        }
        let line: Vec<String> = pairs.iter().map(|(n, v)| format!("{n}={v}")).collect();
        HeaderValue::from_str(&line.join("; ")).ok()
    }

    /// Adds the `Cookie` header for `conn` to `headers` (after any the request set).
    pub fn apply(&self, conn: Conn, url: &url::Url, headers: &mut HeaderMap) {
        if headers.contains_key(COOKIE) {
            return;
        }
        if let Some(value) = self.header(conn, url) {
            headers.insert(COOKIE, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(lines: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for line in lines {
            headers.append(SET_COOKIE, HeaderValue::from_str(line).unwrap());
        }
        headers
    }

    fn url(text: &str) -> url::Url {
        url::Url::parse(text).unwrap()
    }

    #[test]
    fn set_cookie_lines_give_a_name_and_a_value_and_may_remove_it() {
        assert_eq!(
            parse_set_cookie("sid=abc; Path=/; Max-Age=3600; HttpOnly"),
            Some(("sid".into(), "abc".into(), false))
        );
        assert_eq!(
            parse_set_cookie("sid=; Max-Age=0"),
            Some(("sid".into(), String::new(), true))
        );
        assert_eq!(
            parse_set_cookie("sid=x; Expires=Thu, 01 Jan 1970 00:00:00 GMT"),
            Some(("sid".into(), "x".into(), true))
        );
        assert_eq!(parse_set_cookie("no equals sign"), None);
    }

    #[test]
    fn the_session_jar_goes_on_every_connection_and_a_writers_own_only_on_its() {
        let cookies = Cookies::new(Secrets::default());
        let api = url("http://127.0.0.1:8080/secure/notes/1");
        cookies.remember(Conn::Reader, &api, &set(&["sid=s1; Path=/", "csrf=c1"]));
        cookies.remember(Conn::Writer(2), &api, &set(&["csrf=c2", "lb=w2"]));
        assert_eq!(
            cookies.header(Conn::Reader, &api).unwrap(),
            "sid=s1; csrf=c1"
        );
        assert_eq!(
            cookies.header(Conn::Writer(2), &api).unwrap(),
            "csrf=c2; lb=w2; sid=s1",
            "the writer's own cookie wins by name"
        );
        assert_eq!(
            cookies.header(Conn::Writer(0), &api).unwrap(),
            "sid=s1; csrf=c1"
        );
        assert_eq!(
            cookies.header(Conn::Reader, &url("http://other.example/")),
            None,
            "a cookie goes back only to the host that set it"
        );
        cookies.remember(Conn::Reader, &api, &set(&["sid=gone; Max-Age=0"]));
        assert_eq!(cookies.header(Conn::Reader, &api).unwrap(), "csrf=c1");
    }

    #[test]
    fn every_cookie_kept_is_a_secret() {
        let secrets = Secrets::default();
        let cookies = Cookies::new(secrets.clone());
        let api = url("http://127.0.0.1/");
        cookies.remember(Conn::Reader, &api, &set(&["sid=0123456789abcdef"]));
        assert_eq!(secrets.values(), ["0123456789abcdef"]);
        assert_eq!(
            secrets.redact("Cookie: sid=0123456789abcdef"),
            "Cookie: sid=***"
        );
    }
}
