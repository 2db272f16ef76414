//! The sync modes: how a round's writes are released so that they reach the server
//! together. [`super::client::Writers`] holds one [`Race`] and every workload that races
//! goes through it, so each workload gets every mode.
//!
//! - `barrier` ([`barrier`]): one reqwest connection per writer; the writers' tasks wait
//!   at a barrier and the last one to arrive releases every send.
//! - `last-byte` ([`last_byte`]): one raw HTTP/1.1 connection per writer ([`h1`]), over
//!   TCP or TLS; every
//!   request is written except its last byte, then one task writes all the last bytes
//!   back to back.
//! - `single-packet` ([`single_packet`]): HTTP/2 (h2c, or h2 over TLS by ALPN), every
//!   write of the round a stream on one connection; each stream's final DATA frame is withheld, then all of them are queued
//!   and flushed in one write.
//!
//! In every mode the requests arrive rendered, every request is answered or fails with an
//! outcome (`not_sent` when the server cannot have received all of it, `indeterminate`
//! when it may have), and the answers come back in writer order.

mod barrier;
pub(super) mod h1;
mod last_byte;
mod single_packet;

use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::rustls;

use super::exchange::{ClientSettings, Exchange, Prepared};
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
        SyncMode::LastByte => Box::new(last_byte::LastByte::new(n, settings)?),
        SyncMode::SinglePacket => Box::new(single_packet::SinglePacket::new(n, settings)?),
    })
}

/// A byte stream a raw connection runs over: plain TCP, or TLS over TCP.
pub(super) trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// An open connection's stream.
pub(super) type Stream = Box<dyn Io>;

/// The TLS client configuration of a raw mode, offering `alpn` (`h2` or `http/1.1`);
/// see [`super::exchange::tls_client_config`].
pub(super) fn tls_config(
    settings: &ClientSettings,
    alpn: &[u8],
) -> Result<Arc<rustls::ClientConfig>, String> {
    super::exchange::tls_client_config(settings, &[alpn])
}

/// Where a raw connection goes: scheme, host and port of a URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Origin {
    scheme: String,
    host: String,
    port: u16,
}

impl Origin {
    /// The origin of `url` (http or https).
    fn of(url: &url::Url, mode: SyncMode) -> Result<Origin, String> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!(
                "sync = \"{mode}\" speaks http:// and https://, and {} is {}://",
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

    /// True when `url` is on this origin (no allocation: checked per request).
    fn serves(&self, url: &url::Url) -> bool {
        // `host_str` is how `Origin::of` spelled the host, IPv6 in brackets.
        let host = url
            .host_str()
            .is_some_and(|h| h.trim_start_matches('[').trim_end_matches(']') == self.host);
        host && url.scheme() == self.scheme && url.port_or_known_default() == Some(self.port)
    }

    /// Opens a TCP connection with `TCP_NODELAY`, so no staged or final byte waits for
    /// Nagle's algorithm, and for https a TLS session over it. Returns the stream and the
    /// protocol the server chose by ALPN (for https).
    async fn connect(
        &self,
        tls: &Arc<rustls::ClientConfig>,
    ) -> Result<(Stream, Option<Vec<u8>>), String> {
        let tcp = tokio::net::TcpStream::connect((self.host.as_str(), self.port))
            .await
            .map_err(|e| format!("cannot connect to {self}: {e}"))?;
        tcp.set_nodelay(true)
            .map_err(|e| format!("cannot set TCP_NODELAY on {self}: {e}"))?;
        if self.scheme != "https" {
            return Ok((Box::new(tcp), None));
        }
        let name = rustls::pki_types::ServerName::try_from(self.host.clone())
            .map_err(|e| format!("{} is not a TLS server name: {e}", self.host))?;
        let stream = tokio_rustls::TlsConnector::from(tls.clone())
            .connect(name, tcp)
            .await
            .map_err(|e| match super::exchange::tls_advice(&e) {
                Some(advice) => format!(
                    "TLS handshake with {self} failed: {}",
                    super::exchange::without_tls_prefix(&advice)
                ),
                None => format!("TLS handshake with {self} failed: {e}"),
            })?;
        let alpn = stream.get_ref().1.alpn_protocol().map(<[u8]>::to_vec);
        Ok((Box::new(stream), alpn))
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
