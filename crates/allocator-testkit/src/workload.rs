//! Real work for a heap installed as the `#[global_allocator]`, and the
//! macro that installs one in an integration-test binary.

use std::{collections::BTreeMap, fmt::Write};

use crate::XorShift;

/// What one thread of [`two_threads`] does: a `Vec` grown to `vec_len`
/// elements, 64 B and 4 KiB blocks freed in shuffled order, and `String`s
/// formatted into a `BTreeMap`. Every result is checked.
///
/// # Panics
/// When a result is wrong (that is, when the heap corrupted something).
pub fn work(seed: u64, vec_len: u32) {
    let mut v: Vec<u32> = Vec::new();
    for i in 0..vec_len {
        v.push(i);
    }
    let n = u64::from(vec_len);
    assert_eq!(v.iter().map(|&x| u64::from(x)).sum::<u64>(), n * (n - 1) / 2);
    drop(v);

    let mut rng = XorShift::new(seed);
    let mut blocks: Vec<Vec<u8>> =
        (0..4000).map(|i| vec![(i % 251) as u8; if i % 2 == 0 { 64 } else { 4096 }]).collect();
    rng.shuffle(&mut blocks);
    for (i, b) in blocks.iter().enumerate() {
        assert!(b.iter().all(|&x| x == b[0]), "block {i} changed");
    }
    for b in blocks.drain(..).rev().step_by(2) {
        assert!(b.iter().all(|&x| x == b[0]));
    }
    drop(blocks);

    let mut map = BTreeMap::new();
    for i in 0..3000u32 {
        let mut s = String::new();
        write!(s, "key-{i:05}-{}", rng.next_u64() % 1000).expect("writing to a String");
        map.insert(s, i);
    }
    assert_eq!(map.len(), 3000);
    assert!(map.iter().all(|(k, v)| k.starts_with(&format!("key-{v:05}-"))));
}

/// Runs [`work`] on two threads at once, twice, and checks that `used()`
/// (the heap's `used_bytes`) is the same after the second round as before
/// it.
///
/// The first round is a warm-up: the test harness's own thread makes its
/// one-time allocations (for waiting on the test's result) at a moment that
/// depends on scheduling, and they must not count as a leak of the work.
///
/// # Panics
/// When a thread panics or the heap did not return to its figure.
pub fn two_threads(used: impl Fn() -> usize, vec_len: u32) {
    let round = |seed: u64| {
        let handles: Vec<_> = (0..2).map(|t| std::thread::spawn(move || work(seed + t, vec_len))).collect();
        for h in handles {
            h.join().expect("a worker thread panicked");
        }
    };
    round(1);
    let before = used();
    round(3);
    assert_eq!(settled(used, before), before, "the work leaked, or the heap miscounted");
}

/// A block of the stress test: its bytes are all `fill`.
struct Tagged {
    bytes: Vec<u8>,
    fill: u8,
}

impl Tagged {
    fn check(&self) {
        assert!(self.bytes.iter().all(|&b| b == self.fill), "a block changed while live");
    }
}

/// A mailbox between two stress threads. A spin lock compiled with this
/// crate (not std's channels), so ThreadSanitizer sees the hand-over.
type Mailbox = std::sync::Arc<spin::Mutex<Vec<Tagged>>>;

/// The most blocks a stress thread keeps; with the mailboxes' bound this
/// bounds the live memory of a storm whatever the threads' relative speeds
/// (a fast thread would otherwise pile its blocks onto a slow one).
const MAX_OWN_BLOCKS: usize = 512;
/// The most blocks waiting in one mailbox.
const MAX_MAILBOX_BLOCKS: usize = 256;
/// The most tagged blocks live per thread of [`stress`] at any moment: its
/// own, its mailbox's, and a mailbox's worth it has just taken out.
pub const STRESS_BLOCKS_PER_THREAD: usize = MAX_OWN_BLOCKS + 2 * MAX_MAILBOX_BLOCKS;
/// The largest block [`stress`] allocates.
pub const STRESS_MAX_BLOCK: usize = 32 * 1024;

/// Frees random blocks of `mine` (checking each) until at most `max` are
/// left.
fn keep_at_most(mine: &mut Vec<Tagged>, max: usize, rng: &mut XorShift) {
    while mine.len() > max {
        mine.swap_remove(rng.range(0, mine.len() - 1)).check();
    }
}

/// One stress thread: `ops` random operations on its own blocks and on
/// blocks passed around a ring of threads (so most frees happen on another
/// thread than the allocation); every block is checked before it is freed.
fn stress_thread(seed: u64, ops: usize, to_next: &Mailbox, from_prev: &Mailbox) {
    let mut rng = XorShift::new(seed);
    let mut mine: Vec<Tagged> = Vec::new();
    for i in 0..ops {
        match rng.range(0, 9) {
            0..=3 => {
                let fill = (seed as u8).wrapping_mul(31).wrapping_add(i as u8) | 1;
                let size =
                    if rng.range(0, 9) == 0 { rng.range(1, STRESS_MAX_BLOCK) } else { rng.range(1, 256) };
                mine.push(Tagged { bytes: vec![fill; size], fill });
                keep_at_most(&mut mine, MAX_OWN_BLOCKS, &mut rng);
            }
            4 | 5 if !mine.is_empty() => mine.swap_remove(rng.range(0, mine.len() - 1)).check(),
            6 | 7 if !mine.is_empty() => {
                let t = mine.swap_remove(rng.range(0, mine.len() - 1));
                let mut box_ = to_next.lock();
                if box_.len() < MAX_MAILBOX_BLOCKS {
                    box_.push(t);
                } else {
                    drop(box_);
                    t.check();
                }
            }
            _ => {
                let incoming = core::mem::take(&mut *from_prev.lock());
                for t in incoming {
                    t.check();
                    mine.push(t);
                }
                keep_at_most(&mut mine, MAX_OWN_BLOCKS, &mut rng);
            }
        }
    }
    for t in mine {
        t.check();
    }
}

/// Runs `threads` threads in a ring, `ops` random operations each (on
/// their own blocks and on blocks handed to the next thread, so most frees
/// happen on another thread), then frees what is left in the mailboxes.
///
/// # Panics
/// When a block changed or a thread panicked.
pub fn stress(threads: usize, ops: usize) {
    let boxes: Vec<Mailbox> = (0..threads).map(|_| Mailbox::default()).collect();
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let (to_next, from_prev) = (boxes[(t + 1) % threads].clone(), boxes[t].clone());
            std::thread::spawn(move || stress_thread(t as u64 + 1, ops, &to_next, &from_prev))
        })
        .collect();
    for h in handles {
        h.join().expect("a stress thread panicked");
    }
    for b in boxes {
        for t in core::mem::take(&mut *b.lock()) {
            t.check();
        }
    }
}

/// Waits (up to 10 s) until `figure()` is `want`, and returns its last
/// value: a joined thread may still be dropping its own handle, which the
/// thread that spawned it allocated, just after `join` returned.
pub fn settled(figure: impl Fn() -> usize, want: usize) -> usize {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while figure() != want && std::time::Instant::now() < deadline {
        std::thread::yield_now();
    }
    figure()
}

/// Operations per stress thread: `ALLOCATOR_STRESS_OPS`, or 100,000.
pub fn stress_ops() -> usize {
    std::env::var("ALLOCATOR_STRESS_OPS").ok().and_then(|v| v.parse().ok()).unwrap_or(100_000)
}

/// Installs `Locked<$heap>` as the test binary's `#[global_allocator]`
/// over a static, 64-byte-aligned arena of `$size` bytes, and adds a test that
/// runs [`two_threads`] with a `Vec` of `$vec_len` elements.
///
/// The harness allocates before any test runs, so the heap is given its
/// arena by the `Locked` heap's one-time set-up
/// ([`InitHeap`](allocator_sync::InitHeap)), on the first allocation.
#[macro_export]
macro_rules! global_alloc_test {
    ($heap:ty, $new:expr, $size:expr, $vec_len:expr $(,)?) => {
        /// The heap's memory, 64-byte-aligned, handed out once.
        static ARENA: $crate::__private::StaticMemory<{ $size }> = $crate::__private::StaticMemory::new();

        /// Gives the heap the arena, once.
        struct GiveArena;

        impl $crate::__private::InitHeap<$heap> for GiveArena {
            fn init(heap: &mut $heap) -> $crate::__private::AllocResult {
                let arena = ARENA.take().ok_or($crate::__private::AllocError::AlreadyInitialized)?;
                let start = $crate::__private::TestAddress::from_region(arena.as_mut_ptr().cast::<u8>());
                // SAFETY: `take` handed the arena out once, to this heap
                // alone, for the whole program (its address is exposed for
                // heaps that take numbers).
                unsafe { $crate::__private::BaseAllocator::init(heap, start, arena.len()) }
            }
        }

        #[global_allocator]
        static HEAP: $crate::__private::Locked<$heap, $crate::__private::SpinLock, GiveArena> =
            $crate::__private::Locked::new($new);

        fn used() -> usize {
            HEAP.figures().expect("the heap is usable").used
        }

        #[test]
        fn real_work_and_a_thread_storm_return_the_heap() {
            $crate::workload::two_threads(used, $vec_len);
            let f = HEAP.figures().expect("the heap is usable");
            assert_eq!(f.used + f.available(), f.total);
            // Then 2, 4 and 8 threads freeing each other's blocks.
            $crate::workload::stress(2, 1000);
            for threads in [2, 4, 8] {
                let before = used();
                $crate::workload::stress(threads, $crate::workload::stress_ops());
                assert_eq!(
                    $crate::workload::settled(used, before),
                    before,
                    "{threads} threads: the stress leaked, or the heap miscounted"
                );
            }
        }
    };
}
