//! The hosted policy growing from the operating system (`policy::HostedOs`:
//! per-thread magazines over size classes over TLSF refilled from
//! `OsPages`), counted by a `Stats` hook under the magazines, as this test
//! binary's global allocator, with no arena: every byte the tests, the
//! harness and std allocate is mapped from the system as needed. Real work
//! and thread storms return every block; four threads hold 384 MiB at once;
//! the panic test is `hosted_os_panic.rs`.

use allocator::compose::{Proxy, SizeClasses, Stats};
use allocator::policy::{os_heap, OsHeap, LARGE_SLABS};
use allocator::{Depot, PageAllocator, ThreadCached, YieldLock};
use allocator_testkit::workload;

/// `policy::HostedOsDepot`'s heap, with a count of the bytes it has given
/// out.
type Heap = Proxy<SizeClasses<OsHeap, LARGE_SLABS>, Stats>;

static DEPOT: Depot<Heap, YieldLock> = Depot::new(Proxy::new(SizeClasses::new(os_heap()), Stats::new()));
#[global_allocator]
static HEAP: ThreadCached<Heap, YieldLock> = ThreadCached::new(&DEPOT);

/// Bytes live in the heap: this thread's magazines and the depot's go back
/// first (exited threads gave theirs back).
fn used() -> usize {
    HEAP.flush_current_thread().unwrap();
    DEPOT.drain().expect("the heap is usable");
    DEPOT.with(|h| h.hook().snapshot().bytes_live).expect("the heap is usable")
}

/// Bytes mapped from the system.
fn mapped() -> usize {
    DEPOT.with(|h| h.inner().backing().pages().used_pages() * 4096).expect("the heap is usable")
}

#[test]
fn real_work_thread_storms_and_384_mib_return_every_block() {
    workload::two_threads(used, 1_000_000);
    for threads in [2, 4, 8] {
        let before = used();
        workload::stress(threads, workload::stress_ops());
        assert_eq!(workload::settled(used, before), before, "{threads} threads: a block was lost");
    }
    four_threads_hold_384_mib_grown_from_the_system();
}

/// Resident bytes of this process (Linux; 0 elsewhere).
fn resident() -> usize {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<usize>().ok())
        .map_or(0, |pages| pages * 4096)
}

/// Run after the storms (one test: they all read the heap's figures).
fn four_threads_hold_384_mib_grown_from_the_system() {
    let before = used();
    const EACH: usize = 96 << 20;
    let all_held = std::sync::Arc::new(std::sync::Barrier::new(4));
    let threads: Vec<_> = (0..4u8)
        .map(|t| {
            let all_held = all_held.clone();
            std::thread::spawn(move || {
                // Blocks of 1 KiB to 8 MiB, written, held by all four
                // threads at once, checked, then freed.
                let mut blocks = Vec::new();
                let (mut held, mut size) = (0, 1024);
                while held < EACH {
                    let len = size.min(EACH - held);
                    blocks.push(vec![t ^ (blocks.len() as u8); len]);
                    held += len;
                    size = if size >= 8 << 20 { 1024 } else { size * 4 };
                }
                all_held.wait();
                for (i, b) in blocks.iter().enumerate() {
                    assert!(b.iter().all(|&x| x == t ^ i as u8), "thread {t}, block {i}: overwritten");
                }
                held
            })
        })
        .collect();
    drop(all_held);
    let held: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
    assert_eq!(held, 4 * EACH);
    let peak = mapped();
    let resident = resident();
    assert!(peak >= 4 * EACH, "the blocks were in mapped memory");
    let f = DEPOT.figures().unwrap();
    assert!(f.total >= 4 * EACH && f.used < f.total);
    assert_eq!(workload::settled(used, before), before, "a block was lost");
    // Last: the test harness keeps what is printed in a live buffer.
    println!(
        "mapped from the system: {} MiB for {} MiB held across 4 threads; resident after the frees: {} MiB",
        peak >> 20,
        held >> 20,
        resident >> 20
    );
}
