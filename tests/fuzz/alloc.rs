//! The allocation bound: a global allocator that counts live heap bytes and, while a case runs,
//! stops the run when the bytes allocated since the case began would pass the case's bound.
//!
//! A global allocator must not unwind, so a breach cannot become a panic: it is reported (the
//! case written out, see `report::fatal`) and the process exits non-zero.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

pub struct Bounded;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
/// Live bytes allowed while armed (the level at the case's start plus its bound).
static CEILING: AtomicUsize = AtomicUsize::new(usize::MAX);
static ARMED: AtomicBool = AtomicBool::new(false);
/// Live bytes when the case began.
static BASE: AtomicUsize = AtomicUsize::new(0);

/// Starts bounding: from now on live bytes may grow by at most `bound`.
pub fn arm(bound: usize) {
    let live = LIVE.load(Ordering::SeqCst);
    BASE.store(live, Ordering::SeqCst);
    PEAK.store(live, Ordering::SeqCst);
    CEILING.store(live.saturating_add(bound), Ordering::SeqCst);
    ARMED.store(true, Ordering::SeqCst);
}

/// Stops bounding; returns the peak growth above the level at `arm`.
pub fn disarm() -> usize {
    ARMED.store(false, Ordering::SeqCst);
    CEILING.store(usize::MAX, Ordering::SeqCst);
    PEAK.load(Ordering::SeqCst).saturating_sub(BASE.load(Ordering::SeqCst))
}

fn grew(size: usize) {
    let now = LIVE.fetch_add(size, Ordering::Relaxed) + size;
    PEAK.fetch_max(now, Ordering::Relaxed);
}

/// Called before every allocation of `size` more bytes.
fn check(size: usize) {
    if ARMED.load(Ordering::Relaxed) {
        let live = LIVE.load(Ordering::Relaxed);
        let ceiling = CEILING.load(Ordering::Relaxed);
        if live.saturating_add(size) > ceiling && ARMED.swap(false, Ordering::SeqCst) {
            // Disarmed first: the report below allocates freely, and never returns. The
            // backtrace shows which allocation it was.
            eprintln!("fuzz: the allocation:\n{}", std::backtrace::Backtrace::force_capture());
            crate::report::fatal(
                "allocation bound exceeded",
                &format!(
                    "an allocation of {size} bytes with {live} bytes live would pass the case's ceiling of {ceiling} \
                     live bytes"
                ),
            );
        }
    }
}

unsafe impl GlobalAlloc for Bounded {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        check(layout.size());
        let p = System.alloc(layout);
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        check(layout.size());
        let p = System.alloc_zeroed(layout);
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, p: *mut u8, layout: Layout) {
        System.dealloc(p, layout);
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, p: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size > layout.size() {
            check(new_size - layout.size());
        }
        let q = System.realloc(p, layout, new_size);
        if !q.is_null() {
            if new_size > layout.size() {
                grew(new_size - layout.size());
            } else {
                LIVE.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
            }
        }
        q
    }
}
