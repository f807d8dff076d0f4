//! `Locked<Checked<TlsfByteAllocator>>` as the test binary's
//! `#[global_allocator]`: the harness, threads, `Vec`s, `String`s and maps
//! all run on a checked heap, which finds nothing wrong and, once its
//! quarantine is flushed, is back to where it started. (One test only: the
//! figures need the heap to itself.)

use allocator_compose::Checked;
use allocator_core::{AllocError, AllocResult, BaseAllocator, ByteAllocator};
use allocator_sync::{InitHeap, Locked, SpinLock, StaticMemory};
use allocator_tlsf::TlsfByteAllocator;

/// Room for the work's 4,000 live blocks per thread, and the harness's.
type Heap = Checked<TlsfByteAllocator, 16384>;

static ARENA: StaticMemory<{ 64 << 20 }> = StaticMemory::new();

/// Gives the heap the arena on the first allocation.
struct GiveArena;

impl InitHeap<Heap> for GiveArena {
    fn init(heap: &mut Heap) -> AllocResult {
        let arena = ARENA.take().ok_or(AllocError::AlreadyInitialized)?;
        // SAFETY: `take` handed the arena out once, to this heap alone, for
        // the whole program.
        unsafe { heap.init(arena.as_mut_ptr().cast::<u8>(), arena.len()) }
    }
}

#[global_allocator]
static HEAP: Locked<Heap, SpinLock, GiveArena> = Locked::new(Checked::new(TlsfByteAllocator::new()));

/// `used` once the quarantine has given its blocks back.
fn used() -> usize {
    HEAP.with(|h| {
        // SAFETY: `flush` frees only blocks already freed; the heap is not
        // moved or replaced.
        unsafe { h.get_mut() }.flush();
        h.figures().used
    })
    .expect("the heap is usable")
}

/// Misuse found by `check()` now.
fn problems() -> usize {
    // SAFETY: `check` frees nothing and moves nothing.
    HEAP.with(|h| unsafe { h.get_mut() }.check()).expect("the heap is usable")
}

#[test]
fn real_work_and_a_thread_storm_on_a_checked_heap() {
    allocator_testkit::workload::two_threads(used, 200_000);
    assert_eq!(problems(), 0);
    let live = HEAP.with(|h| h.live_blocks()).unwrap();
    assert!(live > 0 && live < 1000, "{live} blocks live between tests");
    for threads in [2, 4] {
        let before = used();
        allocator_testkit::workload::stress(threads, 20_000);
        assert_eq!(problems(), 0);
        assert_eq!(allocator_testkit::workload::settled(used, before), before, "{threads} threads leaked");
    }
}
