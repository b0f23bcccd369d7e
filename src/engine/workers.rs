//! Runs a whole training step on one of rayon's worker threads.
//!
//! A step is a dozen parallel regions (projection, filters, recurrence, gradients, optimizer).
//! Started from the main thread, each region is injected into the pool while the main thread
//! sleeps on a latch and is woken at its end: a dozen sleep/wake round trips per step, ~10% of
//! a 1.5 ms Branch-ELM step on this 2-core machine (`perf`: the scheduler's functions). Started
//! from a worker, the regions are plain work-stealing joins. Which thread runs a piece of work
//! never changes its result, so this changes speed only.

/// `work()`, run on a worker thread of the global pool (directly when already on one).
pub fn on_workers<R: Send>(work: impl FnOnce() -> R + Send) -> R {
    if rayon::current_thread_index().is_some() {
        return work();
    }
    rayon::join(work, || ()).0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn work_runs_on_a_worker_and_returns_its_value() {
        let (index, value) = on_workers(|| (rayon::current_thread_index(), 6 * 7));
        assert!(index.is_some());
        assert_eq!(value, 42);
        // Nested calls run in place.
        assert!(on_workers(|| on_workers(|| rayon::current_thread_index().is_some())));
    }
}
