//! The race window a bug opens between its check and its commit: waited out exactly, and
//! measured.
//!
//! A handler awaiting a database between its check and its commit lets other requests run
//! meanwhile, and resumes when the answer comes. [`hold`] does the same: the writer's task
//! is suspended, so the server's worker threads stay free to read and check the other
//! writes, and it is woken at the window's end by a timer thread that sleeps until shortly
//! before each deadline and spins out the rest (tokio's own timer rounds up to whole
//! milliseconds). A window still ends a little after its deadline, when the woken task
//! gets a thread again; [`WindowStats`] records every window as it really was, from check
//! to commit, and `GET /_contend/windows` reports them, so a benchmark can say which
//! windows it caught.

use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use hdrhistogram::Histogram;
use serde_json::json;
use tokio::sync::oneshot;

/// How long before a deadline the timer thread stops sleeping and starts spinning.
const SPIN: Duration = Duration::from_micros(20);

/// A deadline and the task to wake at it.
type Wake = (Instant, oneshot::Sender<()>);

/// The timer thread's inbox, started on first use.
fn timer() -> Option<&'static Mutex<mpsc::Sender<Wake>>> {
    static TIMER: OnceLock<Option<Mutex<mpsc::Sender<Wake>>>> = OnceLock::new();
    TIMER
        .get_or_init(|| {
            let (tx, rx) = mpsc::channel::<Wake>();
            std::thread::Builder::new()
                .name("contend-window-timer".into())
                .spawn(move || run_timer(&rx))
                .ok()
                .map(|_| Mutex::new(tx))
        })
        .as_ref()
}

/// Fires every deadline as it passes: sleeps until [`SPIN`] before the next one, then
/// spins, taking new deadlines as they come.
fn run_timer(inbox: &mpsc::Receiver<Wake>) {
    precise_sleeps();
    let mut pending: Vec<Wake> = Vec::new();
    loop {
        if pending.is_empty() {
            match inbox.recv() {
                Ok(wake) => pending.push(wake),
                Err(_) => return,
            }
        }
        while let Ok(wake) = inbox.try_recv() {
            pending.push(wake);
        }
        let now = Instant::now();
        let mut i = 0;
        while i < pending.len() {
            if pending[i].0 <= now {
                let (_, waker) = pending.swap_remove(i);
                // The writer may have gone (its connection closed); nothing to wake then.
                let _ = waker.send(());
            } else {
                i += 1;
            }
        }
        let Some(next) = pending.iter().map(|(deadline, _)| *deadline).min() else {
            continue;
        };
        let left = next.saturating_duration_since(Instant::now());
        if left > SPIN * 2 {
            match inbox.recv_timeout(left - SPIN) {
                Ok(wake) => pending.push(wake),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return,
            }
        } else {
            std::hint::spin_loop();
        }
    }
}

/// Asks the kernel to end this thread's timed waits on time: Linux lets a thread's
/// sleeps run up to its timer slack late, 50 µs by default.
fn precise_sleeps() {
    #[cfg(target_os = "linux")]
    // SAFETY: PR_SET_TIMERSLACK takes a plain integer and only changes this thread.
    unsafe {
        libc::prctl(libc::PR_SET_TIMERSLACK, 1 as libc::c_ulong);
    }
}

/// Waits out `window` without holding a worker thread, waking as close to its end as the
/// timer thread and the runtime allow (never before it).
pub(super) async fn hold(window: Duration) {
    let deadline = Instant::now() + window;
    // tokio's timer wakes up to a millisecond late: sleep with it until well before.
    if window > Duration::from_millis(3) {
        tokio::time::sleep_until((deadline - Duration::from_millis(2)).into()).await;
    }
    let (waker, woken) = oneshot::channel();
    let sent = timer().is_some_and(|inbox| {
        inbox
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .send((deadline, waker))
            .is_ok()
    });
    if !sent || woken.await.is_err() {
        // No timer thread: tokio's timer, late by up to a millisecond, never early.
        tokio::time::sleep_until(deadline.into()).await;
    }
    while Instant::now() < deadline {
        std::hint::spin_loop();
    }
}

/// Every window a bug opened, as it really lasted from check to commit, in nanoseconds.
#[derive(Clone)]
pub(super) struct WindowStats {
    windows: Arc<Mutex<Option<Histogram<u64>>>>,
}

impl std::fmt::Debug for WindowStats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WindowStats").finish_non_exhaustive()
    }
}

impl WindowStats {
    /// No windows yet.
    pub fn new() -> WindowStats {
        WindowStats {
            windows: Arc::new(Mutex::new(
                Histogram::new_with_bounds(1, 3_600_000_000_000, 3).ok(),
            )),
        }
    }

    /// Records one window.
    pub fn record(&self, window: Duration) {
        let ns = u64::try_from(window.as_nanos()).unwrap_or(u64::MAX);
        let mut windows = self.windows.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(h) = windows.as_mut() {
            h.saturating_record(ns.max(1));
        }
    }

    /// `{"count": n, "p50_us": …, "p99_us": …, "max_us": …}` of every window so far.
    fn summary(&self) -> serde_json::Value {
        let windows = self.windows.lock().unwrap_or_else(PoisonError::into_inner);
        let us = |ns: u64| (ns as f64 / 1e3 * 10.0).round() / 10.0;
        match windows.as_ref().filter(|h| !h.is_empty()) {
            Some(h) => json!({
                "count": h.len(),
                "p50_us": us(h.value_at_quantile(0.5)),
                "p99_us": us(h.value_at_quantile(0.99)),
                "max_us": us(h.max()),
            }),
            None => json!({"count": 0}),
        }
    }
}

/// `GET /_contend/windows`: the windows the injected bug opened so far, as they lasted.
pub(super) fn routes(stats: WindowStats) -> Router {
    Router::new()
        .route("/_contend/windows", get(windows))
        .with_state(stats)
}

async fn windows(State(stats): State<WindowStats>) -> Json<serde_json::Value> {
    Json(stats.summary())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_window_is_never_cut_short_whether_short_or_long() {
        for window in [Duration::from_micros(10), Duration::from_millis(5)] {
            let started = Instant::now();
            hold(window).await;
            assert!(started.elapsed() >= window, "{window:?}");
        }
    }

    #[tokio::test]
    async fn many_windows_at_once_all_end() {
        let holds = (0..50).map(|i| hold(Duration::from_micros(i * 7)));
        futures::future::join_all(holds).await;
    }

    #[test]
    fn stats_summarise_the_windows_recorded() {
        let stats = WindowStats::new();
        assert_eq!(stats.summary(), json!({"count": 0}));
        for us in [10, 20, 30] {
            stats.record(Duration::from_micros(us));
        }
        let summary = stats.summary();
        assert_eq!(summary["count"], 3);
        assert_eq!(summary["p50_us"], 20.0);
        assert_eq!(summary["max_us"], 30.0);
    }
}
