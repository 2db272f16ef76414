//! The sync modes: how a round's writes are released so that they reach the server
//! together. [`super::client::Writers`] holds one [`Race`] and every workload that races
//! goes through it, so each workload gets every mode.
//!
//! - `barrier` ([`barrier`]): one reqwest connection per writer; the writers' tasks wait
//!   at a barrier and the last one to arrive releases every send.
//! - `last-byte` ([`last_byte`]): one raw HTTP/1.1 connection per writer ([`h1`]); every
//!   request is written except its last byte, then one task writes all the last bytes
//!   back to back.
//! - `single-packet` ([`single_packet`]): HTTP/2, every write of the round a stream on one
//!   connection; each stream's final DATA frame is withheld, then all of them are queued
//!   and flushed in one write.
//!
//! In every mode the requests arrive rendered, every request is answered or fails with an
//! outcome (`not_sent` when the server cannot have received all of it, `indeterminate`
//! when it may have), and the answers come back in writer order.

mod barrier;
mod h1;
mod last_byte;
mod single_packet;

use std::time::Duration;

use futures::future::BoxFuture;

use super::client::{ClientSettings, Exchange, Prepared};
use crate::scenario::SyncMode;

/// How long a staged round waits, before its release, for the server to take in the
/// staged bytes (parse each request's head and start waiting for the rest), so that the
/// release only has the final bytes left to deliver.
const SETTLE: Duration = Duration::from_millis(1);

/// One way of sending a writer's requests and releasing a round's writes together.
pub(super) trait Race: Send + Sync {
    /// Opens the connections to `url`'s origin and checks the mode can be used there; the
    /// error says why not.
    fn ready<'a>(&'a self, url: &'a url::Url) -> BoxFuture<'a, Result<(), String>>;

    /// Sends one request per writer (warm-ups), all at once; answers in writer order.
    fn each(&self, requests: Vec<Prepared>) -> BoxFuture<'_, Vec<Exchange>>;

    /// Releases one request per writer together; answers in writer order, each with its
    /// release instant as `start`.
    fn race(&self, requests: Vec<Prepared>) -> BoxFuture<'_, Vec<Exchange>>;
}

/// The [`Race`] for `settings.sync`, for `n` writers.
pub(super) fn for_mode(n: usize, settings: &ClientSettings) -> Result<Box<dyn Race>, String> {
    Ok(match settings.sync {
        SyncMode::Barrier => Box::new(barrier::Barrier::new(n, settings)?),
        SyncMode::LastByte => Box::new(last_byte::LastByte::new(n, settings)),
        SyncMode::SinglePacket => Box::new(single_packet::SinglePacket::new(n, settings)),
    })
}

/// Where a raw connection goes: scheme, host and port of a URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Origin {
    scheme: String,
    host: String,
    port: u16,
}

impl Origin {
    /// The origin of `url`, if it is one the raw modes can connect to (plain http).
    fn of(url: &url::Url, mode: SyncMode) -> Result<Origin, String> {
        if url.scheme() != "http" {
            return Err(format!(
                "sync = \"{mode}\" speaks plain http:// only, and {} is {}://; use sync = \"barrier\" for it",
                url.as_str(),
                url.scheme()
            ));
        }
        let host = match url.host() {
            Some(url::Host::Domain(d)) => d.to_string(),
            Some(url::Host::Ipv4(a)) => a.to_string(),
            Some(url::Host::Ipv6(a)) => a.to_string(),
            None => return Err(format!("{} has no host", url.as_str())),
        };
        let port = url
            .port_or_known_default()
            .ok_or_else(|| format!("{} has no port", url.as_str()))?;
        Ok(Origin {
            scheme: url.scheme().to_string(),
            host,
            port,
        })
    }

    /// Opens a TCP connection with `TCP_NODELAY`, so no staged or final byte waits for
    /// Nagle's algorithm.
    async fn connect(&self) -> std::io::Result<tokio::net::TcpStream> {
        let stream = tokio::net::TcpStream::connect((self.host.as_str(), self.port)).await?;
        stream.set_nodelay(true)?;
        Ok(stream)
    }
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.host.contains(':') {
            write!(f, "{}://[{}]:{}", self.scheme, self.host, self.port)
        } else {
            write!(f, "{}://{}:{}", self.scheme, self.host, self.port)
        }
    }
}
