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
