//! `contend relay`: a WAN in a box, a TCP relay that delays every chunk it forwards.
//!
//! The published figures for how simultaneous each sync mode's writes arrive were taken
//! over a real WAN (single-packet 1 ms median spread, last-byte 4 ms, with 20 requests).
//! Loopback has no such delays, and the kernels of these machines have no `netem` qdisc,
//! so the relay stands in for the network: it accepts connections, opens one to the
//! target for each, and in each direction forwards every chunk it reads after a fixed
//! delay plus an independent random jitter, uniform in `delay ± jitter` ([`DelayRule`]).
//!
//! Two rules keep it faithful to what the sync modes rely on. A chunk keeps its
//! boundaries: what arrived in one read leaves in one write (with `TCP_NODELAY`, so one
//! segment when it fits), so writes that travelled together, such as single-packet's
//! final frames, keep travelling together. And a connection's byte order holds: a chunk
//! never leaves before the previous one of the same direction ([`departure`]), as TCP
//! would deliver them, so jitter spreads different connections apart but never reorders
//! one. Chunks leave on the reference server's precise timer (`server::hold`),
//! not tokio's millisecond one.

use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Largest chunk read at once.
const CHUNK: usize = 64 * 1024;

/// Chunks queued per direction before the relay stops reading (back-pressure).
const QUEUE: usize = 1024;

/// `contend relay`'s command line.
#[derive(Debug, Clone, clap::Args)]
pub struct RelayArgs {
    /// Where to accept connections, e.g. 127.0.0.1:9000.
    #[arg(long, value_name = "ADDR")]
    pub listen: SocketAddr,
    /// Where to forward each connection, HOST:PORT.
    #[arg(long, value_name = "ADDR")]
    pub to: String,
    /// The fixed one-way delay of every chunk, in each direction.
    #[arg(long, default_value = "25ms", value_parser = humantime::parse_duration)]
    pub delay: Duration,
    /// Each chunk's own random offset, uniform in ±jitter around the delay.
    #[arg(long, default_value = "0ms", value_parser = humantime::parse_duration)]
    pub jitter: Duration,
}

/// How long each chunk is held: `delay` plus an offset drawn for it alone, uniform in
/// `[-jitter, +jitter]`, and never less than zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DelayRule {
    /// The fixed part.
    pub delay: Duration,
    /// The bound of the random part, either way.
    pub jitter: Duration,
}

impl DelayRule {
    /// Draws one chunk's delay.
    pub fn sample(&self, rng: &mut impl Rng) -> Duration {
        let nanos = |d: Duration| i128::try_from(d.as_nanos()).unwrap_or(i128::MAX);
        let jitter = nanos(self.jitter).min(i128::from(i64::MAX));
        let offset = if jitter == 0 {
            0
        } else {
            rng.gen_range(-jitter..=jitter)
        };
        let held = (nanos(self.delay) + offset).clamp(0, i128::from(u64::MAX));
        Duration::from_nanos(u64::try_from(held).unwrap_or(u64::MAX))
    }
}

/// When a chunk due at `due` leaves: then, or right after the previous chunk of the same
/// direction left, whichever is later, so a direction's chunks leave in order.
pub fn departure(due: Instant, previous: Option<Instant>) -> Instant {
    previous.map_or(due, |previous| due.max(previous))
}

/// Waits until `deadline`, never returning before it.
async fn wait_until(deadline: Instant) {
    let left = deadline.saturating_duration_since(Instant::now());
    if !left.is_zero() {
        crate::server::hold(left).await;
    }
}

/// One direction of one connection: reads chunks from `reader` and writes each whole to
/// `writer`, delayed by `rule`, in order; at the end of `reader`, shuts `writer`'s
/// sending side once every chunk has left.
pub async fn pump<R, W>(
    mut reader: R,
    mut writer: W,
    rule: DelayRule,
    mut rng: StdRng,
) -> io::Result<()>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let (queue, mut queued) = mpsc::channel::<(Instant, Bytes)>(QUEUE);
    let read = async move {
        let mut buffer = BytesMut::with_capacity(CHUNK);
        loop {
            buffer.reserve(CHUNK);
            if reader.read_buf(&mut buffer).await? == 0 {
                return Ok::<(), io::Error>(());
            }
            let due = Instant::now() + rule.sample(&mut rng);
            if queue.send((due, buffer.split().freeze())).await.is_err() {
                return Ok(());
            }
        }
    };
    let write = async move {
        let mut previous = None;
        while let Some((due, chunk)) = queued.recv().await {
            wait_until(departure(due, previous)).await;
            writer.write_all(&chunk).await?;
            previous = Some(Instant::now());
        }
        writer.shutdown().await
    };
    let (read, write) = tokio::join!(read, write);
    read.and(write)
}

/// A relay started by [`start`]; dropping it stops accepting (connections already
/// relayed carry on until they end).
pub struct RunningRelay {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl RunningRelay {
    /// The address actually bound (the real port when 0 was asked for).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for RunningRelay {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Binds `listen` and relays every connection to `to` under `rule`, in a background task.
pub async fn start(listen: SocketAddr, to: String, rule: DelayRule) -> io::Result<RunningRelay> {
    let listener = TcpListener::bind(listen).await?;
    let addr = listener.local_addr()?;
    let task = tokio::spawn(async move {
        loop {
            let Ok((client, _)) = listener.accept().await else {
                continue;
            };
            let to = to.clone();
            tokio::spawn(async move {
                if let Err(e) = relay_connection(client, &to, rule).await {
                    eprintln!("relay: a connection to {to} ended: {e}");
                }
            });
        }
    });
    Ok(RunningRelay { addr, task })
}

/// Relays one accepted connection both ways until both directions have ended.
async fn relay_connection(client: TcpStream, to: &str, rule: DelayRule) -> io::Result<()> {
    let upstream = TcpStream::connect(to).await?;
    // Each chunk should leave as its own segment, not wait for Nagle.
    client.set_nodelay(true)?;
    upstream.set_nodelay(true)?;
    let (client_reads, client_writes) = client.into_split();
    let (upstream_reads, upstream_writes) = upstream.into_split();
    let (to_target, to_client) = tokio::join!(
        pump(client_reads, upstream_writes, rule, StdRng::from_entropy()),
        pump(upstream_reads, client_writes, rule, StdRng::from_entropy()),
    );
    // A peer that resets its side is the ordinary end of many connections.
    for ended in [to_target, to_client] {
        match ended {
            Err(e)
                if !matches!(
                    e.kind(),
                    io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe
                ) =>
            {
                return Err(e)
            }
            _ => {}
        }
    }
    Ok(())
}

/// Runs `contend relay` until Ctrl-C; returns the exit code.
pub async fn run(args: RelayArgs) -> u8 {
    match tokio::net::lookup_host(args.to.as_str())
        .await
        .map(|mut addrs| addrs.next())
    {
        Ok(Some(_)) => {}
        Ok(None) => {
            eprintln!("error: --to {} names no address", args.to);
            return 2;
        }
        Err(e) => {
            eprintln!("error: --to {}: {e}", args.to);
            return 2;
        }
    }
    let rule = DelayRule {
        delay: args.delay,
        jitter: args.jitter,
    };
    match start(args.listen, args.to.clone(), rule).await {
        Ok(relay) => {
            println!(
                "contend relay listening on {}, forwarding to {} after {:?} ± {:?} each way",
                relay.addr(),
                args.to,
                rule.delay,
                rule.jitter
            );
            println!("Ctrl-C stops it.");
            let _ = tokio::signal::ctrl_c().await;
            0
        }
        Err(e) => {
            eprintln!("error: cannot listen on {}: {e}", args.listen);
            2
        }
    }
}

#[cfg(test)]
mod tests {
    use std::pin::Pin;
    use std::sync::{Arc, Mutex};
    use std::task::{Context, Poll};

    use tokio::io::ReadBuf;

    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn every_sampled_delay_lies_within_delay_plus_or_minus_jitter() {
        let rule = DelayRule {
            delay: 25 * MS,
            jitter: 2 * MS,
        };
        let mut rng = StdRng::seed_from_u64(7);
        let samples: Vec<Duration> = (0..10_000).map(|_| rule.sample(&mut rng)).collect();
        assert!(samples.iter().all(|d| (23 * MS..=27 * MS).contains(d)));
        // Independent draws, not one offset for all: both halves of the range occur.
        assert!(samples.iter().any(|d| *d < 24 * MS));
        assert!(samples.iter().any(|d| *d > 26 * MS));
    }

    #[test]
    fn without_jitter_every_chunk_waits_exactly_the_delay_and_never_less_than_zero() {
        let mut rng = StdRng::seed_from_u64(1);
        let fixed = DelayRule {
            delay: 25 * MS,
            jitter: Duration::ZERO,
        };
        assert!((0..100).all(|_| fixed.sample(&mut rng) == 25 * MS));
        let wide = DelayRule {
            delay: MS,
            jitter: 10 * MS,
        };
        assert!((0..1_000).all(|_| wide.sample(&mut rng) <= 11 * MS));
    }

    #[test]
    fn a_chunk_due_before_the_previous_one_left_leaves_right_after_it() {
        let now = Instant::now();
        assert_eq!(departure(now + MS, None), now + MS);
        assert_eq!(departure(now + MS, Some(now + 3 * MS)), now + 3 * MS);
        assert_eq!(departure(now + 5 * MS, Some(now + 3 * MS)), now + 5 * MS);
    }

    /// A reader that hands out the given chunks, one per read, and notes when.
    struct ChunkReader {
        chunks: Vec<Vec<u8>>,
        handed: Arc<Mutex<Vec<Instant>>>,
    }

    impl AsyncRead for ChunkReader {
        fn poll_read(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<io::Result<()>> {
            if !self.chunks.is_empty() {
                let chunk = self.chunks.remove(0);
                buf.put_slice(&chunk);
                self.handed.lock().expect("lock").push(Instant::now());
            }
            Poll::Ready(Ok(()))
        }
    }

    /// One write as the writer took it: when, and the bytes.
    type Write = (Instant, Vec<u8>);

    /// A writer that takes every write whole and notes each with its instant.
    #[derive(Clone, Default)]
    struct WriteLog {
        writes: Arc<Mutex<Vec<Write>>>,
        shut: Arc<Mutex<bool>>,
    }

    impl AsyncWrite for WriteLog {
        fn poll_write(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            self.writes
                .lock()
                .expect("lock")
                .push((Instant::now(), buf.to_vec()));
            Poll::Ready(Ok(buf.len()))
        }

        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }

        fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            *self.shut.lock().expect("lock") = true;
            Poll::Ready(Ok(()))
        }
    }

    #[tokio::test]
    async fn chunks_come_out_whole_in_order_and_no_earlier_than_delay_minus_jitter() {
        let rule = DelayRule {
            delay: 5 * MS,
            jitter: 4 * MS,
        };
        let chunks: Vec<Vec<u8>> = (0..40u8)
            .map(|i| vec![i; 1 + usize::from(i) * 37])
            .collect();
        let handed = Arc::new(Mutex::new(Vec::new()));
        let reader = ChunkReader {
            chunks: chunks.clone(),
            handed: handed.clone(),
        };
        let log = WriteLog::default();
        pump(reader, log.clone(), rule, StdRng::seed_from_u64(3))
            .await
            .expect("pumped");

        let writes = log.writes.lock().expect("lock").clone();
        let written: Vec<Vec<u8>> = writes.iter().map(|(_, bytes)| bytes.clone()).collect();
        assert_eq!(
            written, chunks,
            "one write per chunk read, whole and in order"
        );
        let handed = handed.lock().expect("lock").clone();
        for ((left, _), read) in writes.iter().zip(&handed) {
            assert!(
                left.duration_since(*read) >= rule.delay - rule.jitter,
                "a chunk left {:?} after it was read",
                left.duration_since(*read)
            );
        }
        assert!(
            *log.shut.lock().expect("lock"),
            "the end of input is passed on"
        );
    }

    #[tokio::test]
    async fn a_relayed_connection_carries_bytes_both_ways_and_the_round_trip_takes_both_delays() {
        let echo = TcpListener::bind(("127.0.0.1", 0)).await.expect("bind");
        let echo_addr = echo.local_addr().expect("addr");
        tokio::spawn(async move {
            let (mut stream, _) = echo.accept().await.expect("accept");
            let mut buf = [0; 64];
            while let Ok(n) = stream.read(&mut buf).await {
                if n == 0 || stream.write_all(&buf[..n]).await.is_err() {
                    break;
                }
            }
        });
        let rule = DelayRule {
            delay: 20 * MS,
            jitter: 5 * MS,
        };
        let relay = start(([127, 0, 0, 1], 0).into(), echo_addr.to_string(), rule)
            .await
            .expect("relay");
        let mut client = TcpStream::connect(relay.addr()).await.expect("connect");
        let sent = Instant::now();
        client.write_all(b"ping").await.expect("write");
        let mut back = [0; 4];
        client.read_exact(&mut back).await.expect("read");
        assert_eq!(&back, b"ping");
        let round_trip = sent.elapsed();
        assert!(
            round_trip >= 2 * (rule.delay - rule.jitter),
            "{round_trip:?}"
        );
        client.shutdown().await.expect("shutdown");
        let mut rest = Vec::new();
        client
            .read_to_end(&mut rest)
            .await
            .expect("the relay passes the close on");
        assert!(rest.is_empty());
    }
}
