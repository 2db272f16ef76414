//! The sync modes: how a round's writes are released so that they reach the server
//! together. [`super::client::Writers`] holds one [`Race`] and every workload that races
//! goes through it, so each workload gets every mode.
//!
//! - `barrier` ([`barrier`]): one reqwest connection per writer, each writer on an OS
//!   thread of its own; the threads wait at a gate and the last one to arrive opens it.
//! - `last-byte` ([`last_byte`]): one raw HTTP/1.1 connection per writer ([`h1`]), over
//!   TCP or TLS; every request is written except its last byte, then all the last bytes,
//!   sealed in advance, are written to the sockets in one batch ([`release`]).
//! - `single-packet` ([`single_packet`]): HTTP/2 (h2c, or h2 over TLS by ALPN), every
//!   write of the round a stream on one connection; each stream's final DATA frame is withheld, then all of them are queued
//!   and flushed in one write.
//!
//! Which mode runs is the scenario's `sync`, or what `auto` chose with [`check`], the
//! check each mode makes of a target before the scenario's first request.
//!
//! In every mode the requests arrive rendered, every request is answered or fails with an
//! outcome (`not_sent` when the server cannot have received all of it, `indeterminate`
//! when it may have), and the answers come back in writer order.

mod barrier;
pub(super) mod h1;
mod last_byte;
mod release;
mod single_packet;

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures::future::BoxFuture;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
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

    /// Closes every writer's connection: the next requests open new ones.
    fn reconnect(&mut self) -> Result<(), String>;
}

/// The [`Race`] for `settings.sync`, for `n` writers.
pub(super) fn for_mode(n: usize, settings: &ClientSettings) -> Result<Box<dyn Race>, String> {
    Ok(match settings.sync {
        SyncMode::Barrier => Box::new(barrier::Barrier::new(n, settings)?),
        SyncMode::LastByte => Box::new(last_byte::LastByte::new(n, settings)?),
        SyncMode::SinglePacket => Box::new(single_packet::SinglePacket::new(n, settings)?),
    })
}

/// Checks that `mode` can race `n` writers at `url`'s origin, on connections of its
/// own: one, since one tells for all (single-packet checks its stream limit against
/// `n`). The error says why not.
pub(super) async fn check(
    mode: SyncMode,
    n: usize,
    settings: &ClientSettings,
    url: &url::Url,
) -> Result<(), String> {
    let writers = match mode {
        SyncMode::SinglePacket => n,
        SyncMode::Barrier | SyncMode::LastByte => 1,
    };
    for_mode(writers, settings)?.ready(url).await
}

/// An open raw connection: plain TCP, or TLS over TCP. Its socket stays within reach
/// (and its TLS session), so that a release can write bytes prepared in advance straight
/// to the socket ([`Stream::seal`], [`release`]).
pub(super) enum Stream {
    Tcp(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl Stream {
    /// The bytes that carry `plain` to the server, ready to be written as they are to the
    /// socket: `plain` itself over TCP; over TLS, the record that encrypts it, made now so
    /// that the release only writes. Must be called with nothing else buffered (after a
    /// flush), and the bytes must be written before anything else is.
    pub fn seal(&mut self, plain: &[u8]) -> std::io::Result<Vec<u8>> {
        match self {
            Stream::Tcp(_) => Ok(plain.to_vec()),
            Stream::Tls(tls) => {
                let (_, session) = tls.get_mut();
                std::io::Write::write_all(&mut session.writer(), plain)?;
                let mut sealed = Vec::with_capacity(plain.len() + 64);
                while session.wants_write() {
                    session.write_tls(&mut sealed)?;
                }
                Ok(sealed)
            }
        }
    }

    /// The TCP socket underneath.
    pub fn socket(&self) -> &TcpStream {
        match self {
            Stream::Tcp(tcp) => tcp,
            Stream::Tls(tls) => tls.get_ref().0,
        }
    }

    /// The TCP socket underneath, to write sealed bytes to.
    pub fn socket_mut(&mut self) -> &mut TcpStream {
        match self {
            Stream::Tcp(tcp) => tcp,
            Stream::Tls(tls) => tls.get_mut().0,
        }
    }
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Tcp(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Stream::Tcp(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Stream::Tcp(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Stream::Tls(s) => Pin::new(s).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Stream::Tcp(s) => s.is_write_vectored(),
            Stream::Tls(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Tcp(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Tcp(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s).poll_shutdown(cx),
        }
    }
}

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
            return Ok((Stream::Tcp(tcp), None));
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
        Ok((Stream::Tls(Box::new(stream)), alpn))
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
