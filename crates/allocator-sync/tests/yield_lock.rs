//! `YieldLock`: mutual exclusion under more threads than cores, and a heap
//! behind it shared by them.

use core::alloc::{GlobalAlloc, Layout};
use std::{sync::Arc, thread};

use allocator::{Lock, Locked, TlsfByteAllocator, YieldLock};

#[test]
fn eight_threads_on_two_cores_never_overlap_in_the_lock() {
    struct Counter {
        lock: YieldLock,
        value: core::cell::UnsafeCell<u64>,
    }
    // SAFETY: `value` is touched only inside the lock.
    unsafe impl Sync for Counter {}
    let c = Arc::new(Counter { lock: YieldLock::new(), value: core::cell::UnsafeCell::new(0) });
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let c = Arc::clone(&c);
            thread::spawn(move || {
                for _ in 0..20_000 {
                    // SAFETY: inside the lock: no other thread touches it.
                    c.lock.lock_with(|| unsafe { *c.value.get() += 1 }).unwrap();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    // SAFETY: every thread has finished.
    assert_eq!(unsafe { *c.value.get() }, 8 * 20_000);
    assert!(c.lock.try_lock_with(|| ()).is_some(), "free at the end");
}

#[test]
fn a_heap_behind_it_serves_eight_threads() {
    let heap: &'static Locked<TlsfByteAllocator, YieldLock> =
        Box::leak(Box::new(Locked::new(TlsfByteAllocator::new())));
    heap.add_static(Box::leak(vec![core::mem::MaybeUninit::uninit(); 4 << 20].into_boxed_slice())).unwrap();
    let handles: Vec<_> = (0..8u8)
        .map(|t| {
            thread::spawn(move || {
                let layout = Layout::from_size_align(24 + t as usize * 8, 8).unwrap();
                for _ in 0..5_000 {
                    // SAFETY: a non-zero size; the block is this thread's
                    // until it frees it.
                    unsafe {
                        let p = heap.alloc(layout);
                        assert!(!p.is_null());
                        p.write_bytes(t, layout.size());
                        assert!(core::slice::from_raw_parts(p, layout.size()).iter().all(|&b| b == t));
                        heap.dealloc(p, layout);
                    }
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(heap.figures().unwrap().used, 0);
}
