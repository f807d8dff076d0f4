//! The stress workload's live memory is bounded whatever the scheduling:
//! a fast thread cannot pile its blocks onto a slow one. (It once could: a
//! two-thread storm of 1M operations each held 140 MiB at its peak, and the
//! 96 MiB TLSF arena of the global-allocator tests ran out.)

use std::{
    alloc::{GlobalAlloc, Layout, System},
    sync::atomic::{AtomicUsize, Ordering::Relaxed},
};

use allocator_testkit::workload::{stress, STRESS_BLOCKS_PER_THREAD};

/// The system allocator, counting live allocations and their peak.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded to `System` unchanged.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        PEAK.fetch_max(LIVE.fetch_add(1, Relaxed) + 1, Relaxed);
        // SAFETY: forwarded from the caller.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(1, Relaxed);
        // SAFETY: forwarded from the caller.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static COUNTING: Counting = Counting;

#[test]
fn a_storm_keeps_a_bounded_number_of_blocks() {
    for threads in [2, 3, 8] {
        let base = LIVE.load(Relaxed);
        PEAK.store(base, Relaxed);
        stress(threads, 200_000);
        let peak = PEAK.load(Relaxed) - base;
        // The tagged blocks, plus per thread its stack, its `Vec` of blocks
        // (old and new buffer while it grows) and its mailbox's buffers.
        let bound = threads * (STRESS_BLOCKS_PER_THREAD + 16);
        assert!(peak <= bound, "{threads} threads: {peak} blocks live at the peak, bound {bound}");
        assert_eq!(LIVE.load(Relaxed), base, "{threads} threads: the storm did not free everything");
    }
}
