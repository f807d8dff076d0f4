//! The stress workload's live memory is bounded whatever the scheduling:
//! a fast thread cannot pile its blocks onto a slow one. (It once could: a
//! two-thread storm of 1M operations each, on a heap behind one lock, held
//! 140 MiB at its peak, and the 96 MiB TLSF arena of the global-allocator
//! tests ran out.) One storm thread is made slow here, so the pile-up does
//! not depend on how the threads happen to be scheduled.
//!
//! The binary has no test harness (`harness = false`): the harness's own
//! thread allocates while it waits for a test (its channel's waiting
//! context, once), and when that came after the count's base was taken it
//! looked like a block the storm had kept.

use std::{
    alloc::{GlobalAlloc, Layout, System},
    hint::spin_loop,
    sync::atomic::{AtomicUsize, Ordering::Relaxed},
};

use allocator_testkit::workload::{settled, stress, STRESS_BLOCKS_PER_THREAD};

/// The system allocator, counting live allocations and their peak, and
/// slowing down every allocation of one storm thread.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
/// The test's own thread, and the storm thread made slow (0: none yet),
/// each known by the address of its [`MARK`].
static TEST_THREAD: AtomicUsize = AtomicUsize::new(0);
static SLOW_THREAD: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// A per-thread variable whose address names the thread (a `const`
    /// thread-local with no destructor: reading it never allocates).
    static MARK: u8 = const { 0 };
}

fn this_thread() -> usize {
    MARK.with(|m| std::ptr::from_ref(m) as usize)
}

// SAFETY: every call is forwarded to `System` unchanged.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let me = this_thread();
        let test = TEST_THREAD.load(Relaxed);
        if test != 0 && me != test {
            // The first storm thread to allocate becomes the slow one.
            let slow = match SLOW_THREAD.compare_exchange(0, me, Relaxed, Relaxed) {
                Ok(_) => me,
                Err(slow) => slow,
            };
            if slow == me {
                for _ in 0..300 {
                    spin_loop();
                }
            }
        }
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

fn main() {
    a_storm_with_a_slow_thread_keeps_a_bounded_number_of_blocks();
    println!("test a_storm_with_a_slow_thread_keeps_a_bounded_number_of_blocks ... ok");
}

fn a_storm_with_a_slow_thread_keeps_a_bounded_number_of_blocks() {
    TEST_THREAD.store(this_thread(), Relaxed);
    for threads in [2, 3, 8] {
        SLOW_THREAD.store(0, Relaxed);
        let base = LIVE.load(Relaxed);
        PEAK.store(base, Relaxed);
        stress(threads, 100_000);
        let peak = PEAK.load(Relaxed) - base;
        assert_ne!(SLOW_THREAD.load(Relaxed), 0, "no storm thread was slowed");
        // The tagged blocks, plus per thread its stack, its `Vec` of blocks
        // (old and new buffer while it grows) and its mailbox's buffers.
        let bound = threads * (STRESS_BLOCKS_PER_THREAD + 16);
        assert!(peak <= bound, "{threads} threads: {peak} blocks live at the peak, bound {bound}");
        let live = settled(|| LIVE.load(Relaxed), base);
        assert_eq!(live, base, "{threads} threads: the storm did not free everything");
    }
}
