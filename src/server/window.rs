//! The race window a bug opens between its check and its commit: waited out exactly, and
//! measured.
//!
//! A handler awaiting a database between its check and its commit lets other requests run
//! meanwhile, and resumes when the answer comes. [`hold`] does the same: the writer's task
//! is suspended, so the server's worker threads stay free to read and check the other
//! writes, and it is woken at the window's end by one timer thread (tokio's own timer
//! rounds up to whole milliseconds). The timer thread sleeps until the earliest deadline
//! with a 1 ns timer slack, so it wakes on time without spinning, and a new window wakes
//! it only when it ends before the one it sleeps for: a round's later windows cost the
//! server no extra thread wake-ups, as a database's replies would not. A reply is an I/O
//! event, which the runtime looks at once the tasks already ready have run; a window's
//! end queues the same way (a `yield_now` after the timer's wake): the requests a worker
//! thread already has ready are checked before a window it resumes commits, as on an
//! event-loop server, where the timer's wake alone (which tokio may run before the ready
//! tasks) could jump ahead of them. A window so ends a little after its deadline, when
//! the woken task gets a thread again and the work ready before it is done;
//! [`WindowStats`] records every window as it really was, from check to commit, and
//! `GET /_contend/windows` reports them, so a benchmark can say which windows it caught.

use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use hdrhistogram::Histogram;
use serde_json::json;
use tokio::sync::oneshot;

/// A deadline and the task to wake at it.
type Wake = (Instant, oneshot::Sender<()>);

/// The windows waiting to end, shared by [`hold`] and the timer thread.
struct Timer {
    state: Mutex<Pending>,
    /// Wakes the timer thread early, for a deadline before the one it sleeps until.
    wake: Condvar,
}

struct Pending {
    windows: Vec<Wake>,
    /// When the sleeping timer thread will wake by itself; in the past while it is awake
    /// (it looks at every window before it sleeps again).
    sleeps_until: Instant,
}

impl Timer {
    fn lock(&self) -> MutexGuard<'_, Pending> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The timer, its thread started on first use; `None` if no thread could be started.
fn timer() -> Option<&'static Timer> {
    static TIMER: OnceLock<Option<&'static Timer>> = OnceLock::new();
    *TIMER.get_or_init(|| {
        let timer: &'static Timer = Box::leak(Box::new(Timer {
            state: Mutex::new(Pending {
                windows: Vec::new(),
                sleeps_until: Instant::now(),
            }),
            wake: Condvar::new(),
        }));
        std::thread::Builder::new()
            .name("contend-window-timer".into())
            .spawn(move || run_timer(timer))
            .ok()
            .map(|_| timer)
    })
}

/// Ends every window as its deadline passes, sleeping until the earliest one in between.
fn run_timer(timer: &Timer) {
    precise_sleeps();
    let mut pending = timer.lock();
    loop {
        let now = Instant::now();
        let mut i = 0;
        while i < pending.windows.len() {
            if pending.windows[i].0 <= now {
                let (_, waker) = pending.windows.swap_remove(i);
                // The writer may have gone (its connection closed); nothing to wake then.
                let _ = waker.send(());
            } else {
                i += 1;
            }
        }
        pending = match pending.windows.iter().map(|(deadline, _)| *deadline).min() {
            Some(next) => {
                pending.sleeps_until = next;
                let left = next.saturating_duration_since(now);
                timer
                    .wake
                    .wait_timeout(pending, left)
                    .unwrap_or_else(PoisonError::into_inner)
                    .0
            }
            None => {
                pending.sleeps_until = now + Duration::from_secs(3600);
                timer
                    .wake
                    .wait(pending)
                    .unwrap_or_else(PoisonError::into_inner)
            }
        };
        pending.sleeps_until = now;
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
pub(crate) async fn hold(window: Duration) {
    let deadline = Instant::now() + window;
    let (waker, woken) = oneshot::channel();
    let registered = timer().is_some_and(|timer| {
        let mut pending = timer.lock();
        pending.windows.push((deadline, waker));
        if deadline < pending.sleeps_until {
            timer.wake.notify_one();
        }
        true
    });
    if !registered || woken.await.is_err() {
        // No timer thread: tokio's timer, late by up to a millisecond, never early.
        tokio::time::sleep_until(deadline.into()).await;
    }
    // Behind the tasks already ready, as a database's reply would be.
    tokio::task::yield_now().await;
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

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_earlier_window_wakes_the_timer_sleeping_for_a_later_one() {
        // The timer thread goes to sleep until the long window's end; the short window
        // registered after it must end long before that, not at the same wake-up.
        let long = tokio::spawn(hold(Duration::from_millis(400)));
        tokio::time::sleep(Duration::from_millis(20)).await;
        let started = Instant::now();
        hold(Duration::from_millis(1)).await;
        let short = started.elapsed();
        assert!(short < Duration::from_millis(200), "{short:?}");
        long.await.unwrap();
    }

    #[test]
    fn a_window_ends_behind_the_requests_already_waiting_to_run() {
        // This runtime runs a task woken from another thread (the timer's wake) before its
        // own queue on every tick, and looks for I/O only when it has nothing else to do.
        // Without queueing behind the ready work, the commit would come first.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .global_queue_interval(1)
            .event_interval(u32::MAX)
            .build()
            .expect("runtime");
        let order = runtime.block_on(async {
            let order = Arc::new(Mutex::new(Vec::new()));
            let push = |order: &Arc<Mutex<Vec<&'static str>>>, what| {
                order.lock().unwrap().push(what);
            };
            let window = tokio::spawn({
                let order = order.clone();
                async move {
                    hold(Duration::from_millis(20)).await;
                    push(&order, "commit");
                }
            });
            // The window opens; then the thread is busy while it ends and the checks arrive.
            tokio::task::yield_now().await;
            std::thread::sleep(Duration::from_millis(100));
            let checks: Vec<_> = (0..3)
                .map(|_| {
                    let order = order.clone();
                    tokio::spawn(async move { push(&order, "check") })
                })
                .collect();
            window.await.unwrap();
            for check in checks {
                check.await.unwrap();
            }
            Arc::try_unwrap(order).unwrap().into_inner().unwrap()
        });
        assert_eq!(order, ["check", "check", "check", "commit"]);
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
