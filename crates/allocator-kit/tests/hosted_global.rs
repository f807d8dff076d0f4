//! The hosted policy (per-thread magazines over size classes over TLSF,
//! `policy::Hosted`), counted by a `Stats` hook under the magazines, as
//! this test binary's global allocator: real work on two threads, then 2,
//! 4 and 8 threads freeing each other's blocks; every block is back in the
//! heap once the threads have exited and the magazines are flushed.

use allocator::compose::{Proxy, SizeClasses, Stats};
use allocator::policy::LARGE_SLABS;
use allocator::{
    AllocError, AllocResult, BaseAllocator, Depot, InitHeap, StaticMemory, ThreadCached, TlsfByteAllocator,
    YieldLock,
};
use allocator_testkit::workload;

/// `policy::HostedDepot`'s heap, with a count of the bytes it has given
/// out (TLSF's own `used` varies with where slabs land).
type Heap = Proxy<SizeClasses<TlsfByteAllocator, LARGE_SLABS>, Stats>;

static ARENA: StaticMemory<{ 256 << 20 }> = StaticMemory::new();

struct Arena;

impl InitHeap<Heap> for Arena {
    fn init(heap: &mut Heap) -> AllocResult {
        heap.add_static(ARENA.take().ok_or(AllocError::AlreadyInitialized)?)
    }
}

static DEPOT: Depot<Heap, YieldLock, Arena> =
    Depot::new(Proxy::new(SizeClasses::new(TlsfByteAllocator::new()), Stats::new()));
#[global_allocator]
static HEAP: ThreadCached<Heap, YieldLock, Arena> = ThreadCached::new(&DEPOT);

/// Bytes live in the heap: this thread's magazines and the depot's go back
/// first (exited threads gave theirs back).
fn used() -> usize {
    HEAP.flush_current_thread().unwrap();
    DEPOT.drain().expect("the heap is usable");
    DEPOT.with(|h| h.hook().snapshot().bytes_live).expect("the heap is usable")
}

#[test]
fn real_work_and_thread_storms_return_every_block() {
    workload::two_threads(used, 1_000_000);
    for threads in [2, 4, 8] {
        let before = used();
        workload::stress(threads, workload::stress_ops());
        assert_eq!(workload::settled(used, before), before, "{threads} threads: a block was lost");
    }
    let f = DEPOT.figures().unwrap();
    assert!(f.total > 250 << 20 && f.used < f.total);
}
