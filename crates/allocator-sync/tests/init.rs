//! The one-time set-up of a `Locked` heap: fallible, run at most once, a
//! failure or a panic makes every operation fail cleanly.

use core::{
    alloc::{GlobalAlloc, Layout},
    sync::atomic::{AtomicUsize, Ordering},
};

use allocator_core::{AllocError, AllocResult, BaseAllocator, ByteAllocator};
use allocator_sync::{InitHeap, Locked, SpinLock};
use allocator_testkit::FirstFit;

static RUNS: AtomicUsize = AtomicUsize::new(0);

/// Fails, counting its runs.
struct Refuses;

impl InitHeap<FirstFit> for Refuses {
    fn init(_heap: &mut FirstFit) -> AllocResult {
        RUNS.fetch_add(1, Ordering::SeqCst);
        Err(AllocError::InvalidParam)
    }
}

static PANICS: AtomicUsize = AtomicUsize::new(0);

/// Panics, counting its runs.
struct Panics;

impl InitHeap<FirstFit> for Panics {
    fn init(_heap: &mut FirstFit) -> AllocResult {
        PANICS.fetch_add(1, Ordering::SeqCst);
        panic!("set-up failed");
    }
}

/// Gives the heap a leaked buffer.
struct Gives;

impl InitHeap<FirstFit> for Gives {
    fn init(heap: &mut FirstFit) -> AllocResult {
        heap.add_static(Box::leak(Box::new([core::mem::MaybeUninit::uninit(); 4096])))
    }
}

/// Hole: `with_init` ran again after a failure (and a panic inside a global
/// allocator deadlocked). Now a failed set-up runs once and every later
/// operation fails with `Poisoned`.
#[test]
fn a_failed_set_up_runs_once_and_fails_cleanly() {
    let h: Locked<FirstFit, SpinLock, Refuses> = Locked::new(FirstFit::new());
    assert_eq!(h.figures(), Err(AllocError::InvalidParam), "the first call reports the set-up's error");
    for _ in 0..3 {
        assert_eq!(h.figures(), Err(AllocError::Poisoned));
        // SAFETY: a valid layout.
        assert!(unsafe { GlobalAlloc::alloc(&h, Layout::new::<u64>()) }.is_null());
    }
    assert_eq!(RUNS.load(Ordering::SeqCst), 1);
}

#[test]
fn a_panicking_set_up_poisons_the_heap() {
    let h: Locked<FirstFit, SpinLock, Panics> = Locked::new(FirstFit::new());
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| h.figures()));
    assert!(r.is_err());
    assert_eq!(h.figures(), Err(AllocError::Poisoned));
    assert_eq!(PANICS.load(Ordering::SeqCst), 1);
    assert!(format!("{h:?}").contains("poisoned"));
}

#[test]
fn a_panic_inside_an_operation_poisons_the_heap() {
    let h: Locked<FirstFit, SpinLock, Gives> = Locked::new(FirstFit::new());
    assert!(h.with(|h| h.alloc(Layout::new::<u8>()).is_ok()).unwrap());
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| h.with(|_| panic!("half-way"))));
    assert!(r.is_err());
    assert_eq!(h.with(|_| ()), Err(AllocError::Poisoned));
}

#[test]
fn get_mut_runs_the_set_up() {
    let mut h: Locked<FirstFit, SpinLock, Gives> = Locked::new(FirstFit::new());
    assert_eq!(h.get_mut().unwrap().total_bytes(), 4096);
    assert_eq!(h.figures().unwrap().total, 4096, "and only once");
}
