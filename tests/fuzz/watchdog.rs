//! The hang check: a thread that ends the run when one case takes longer than the limit.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Milliseconds since `EPOCH` at which the running case started; 0 when none runs.
static STARTED_MS: AtomicU64 = AtomicU64::new(0);
static LIMIT_MS: AtomicU64 = AtomicU64::new(10_000);
static EPOCH: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();

fn now_ms() -> u64 {
    EPOCH.get_or_init(Instant::now).elapsed().as_millis() as u64 + 1
}

/// Starts the watchdog with a per-case limit.
pub fn start(limit: Duration) {
    LIMIT_MS.store(limit.as_millis() as u64, Ordering::SeqCst);
    now_ms();
    std::thread::spawn(|| loop {
        std::thread::sleep(Duration::from_millis(50));
        let started = STARTED_MS.load(Ordering::SeqCst);
        let limit = LIMIT_MS.load(Ordering::SeqCst);
        if started != 0 && now_ms().saturating_sub(started) > limit {
            crate::report::fatal("time limit", &format!("the case ran longer than {:.1} s", limit as f64 / 1000.0));
        }
    });
}

pub fn case_started() {
    STARTED_MS.store(now_ms(), Ordering::SeqCst);
}

pub fn case_ended() {
    STARTED_MS.store(0, Ordering::SeqCst);
}
