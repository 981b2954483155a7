//! Time as the product sees it: wall-clock milliseconds that advance with tokio's
//! clock. Records need calendar time (started at 14:32), while tests run on
//! tokio's paused clock, where a ten-minute bake takes no real time. A [`Clock`]
//! is anchored once (to the system time, or to a fixed instant in tests) and then
//! moves exactly as `tokio::time::Instant` does, so both agree.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::time::Instant;

#[derive(Debug, Clone, Copy)]
pub struct Clock {
    anchor_ms: i64,
    anchor: Instant,
}

impl Clock {
    /// Anchored to the system clock now.
    pub fn system() -> Clock {
        let ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO)
            .as_millis() as i64;
        Clock::starting_at(ms)
    }

    /// Anchored to `ms` milliseconds since the Unix epoch, for deterministic tests.
    pub fn starting_at(ms: i64) -> Clock {
        Clock {
            anchor_ms: ms,
            anchor: Instant::now(),
        }
    }

    /// Milliseconds since the Unix epoch.
    pub fn now_ms(&self) -> i64 {
        self.anchor_ms + self.anchor.elapsed().as_millis() as i64
    }
}

/// Awaits `work` that runs outside tokio (SQLite runs on its own worker thread)
/// with tokio's clock held still.
///
/// Tests run on tokio's paused clock, which jumps to the next timer whenever the
/// runtime has nothing to do. While a query is on the database thread the
/// runtime looks idle, so the clock would jump (to a pool's acquire timeout, or
/// a bake's end) although no time passed. A `spawn_blocking` task that lives
/// exactly as long as the query tells tokio that work is in flight. In real
/// time it costs one hand-off to the blocking pool per query.
pub async fn held<F>(work: F) -> F::Output
where
    F: std::future::Future + Send,
    F::Output: Send,
{
    let (done, wait) = std::sync::mpsc::channel::<()>();
    let guard = tokio::task::spawn_blocking(move || {
        let _ = wait.recv();
    });
    let out = work.await;
    drop(done);
    let _ = guard.await;
    out
}

/// `.held()` on a future: see [`held`].
pub trait Held: std::future::Future + Send + Sized
where
    Self::Output: Send,
{
    fn held(self) -> impl std::future::Future<Output = Self::Output> + Send {
        held(self)
    }
}

impl<F> Held for F
where
    F: std::future::Future + Send,
    F::Output: Send,
{
}
