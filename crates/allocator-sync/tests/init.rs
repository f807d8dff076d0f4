//! The one-time set-up of a `Locked` heap: fallible, run at most once, a
//! failure or a panic makes every operation fail cleanly.

use core::{
    alloc::{GlobalAlloc, Layout},
    sync::atomic::{AtomicUsize, Ordering},
};

use core::{alloc::Layout as L, ptr::NonNull};

use allocator_core::{AllocError, AllocResult, BaseAllocator, ByteAllocator, Figures};
use allocator_sync::{InitHeap, Locked, SpinLock, StaticMemory};
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

/// FirstFit whose `alloc` panics half-way for a 777-byte request, as a
/// backend's assertion would.
#[derive(Debug, Default)]
struct Panicky(FirstFit);

impl BaseAllocator for Panicky {
    type Addr = *mut u8;

    unsafe fn init(&mut self, start: *mut u8, size: usize) -> AllocResult {
        // SAFETY: forwarded from the caller.
        unsafe { self.0.init(start, size) }
    }

    unsafe fn add_memory(&mut self, start: *mut u8, size: usize) -> AllocResult {
        // SAFETY: forwarded from the caller.
        unsafe { self.0.add_memory(start, size) }
    }
}

// SAFETY: FirstFit's blocks; the panic happens before anything changes.
unsafe impl ByteAllocator for Panicky {
    fn alloc(&mut self, layout: L) -> AllocResult<NonNull<u8>> {
        assert_ne!(layout.size(), 777, "half-way");
        self.0.alloc(layout)
    }

    unsafe fn dealloc(&mut self, ptr: NonNull<u8>, layout: L) {
        // SAFETY: forwarded from the caller.
        unsafe { self.0.dealloc(ptr, layout) }
    }

    fn figures(&self) -> Figures {
        self.0.figures()
    }
}

fn leaked() -> &'static mut [core::mem::MaybeUninit<u8>] {
    Box::leak(Box::new([core::mem::MaybeUninit::uninit(); 4096]))
}

#[test]
fn a_panic_inside_a_heap_operation_poisons_the_heap() {
    let h: Locked<Panicky> = Locked::new(Panicky::default());
    h.add_static(leaked()).unwrap();
    assert!(h.with(|h| h.alloc(Layout::new::<u8>()).is_ok()).unwrap());
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        h.with(|h| h.alloc(Layout::from_size_align(777, 1).unwrap()))
    }));
    assert!(r.is_err());
    assert_eq!(h.with(|_| ()), Err(AllocError::Poisoned));
}

/// A panic in the caller's own code inside `with` leaves the heap whole:
/// the blocks made before it are still freed, nothing is lost.
#[test]
fn a_panic_in_the_callers_code_loses_nothing() {
    let h: Locked<FirstFit> = Locked::new(FirstFit::new());
    h.add_static(leaked()).unwrap();
    let l = Layout::from_size_align(64, 8).unwrap();
    let a = h.with(|h| h.alloc(l)).unwrap().unwrap();
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        h.with(|h| {
            let _ = h.alloc(l);
            panic!("the caller's bug")
        })
    }));
    assert!(r.is_err());
    // SAFETY: `a` is live for `l`.
    assert_eq!(h.with(|h| unsafe { h.dealloc(a, l) }), Ok(()));
    assert!(h.figures().unwrap().used >= 64, "the block the panicking closure made is still live");
}

/// After raw access (`Held::get_mut`) a panic may have left the heap
/// half-changed: it is poisoned.
#[test]
fn a_panic_after_raw_access_poisons_the_heap() {
    let h: Locked<FirstFit> = Locked::new(FirstFit::new());
    h.add_static(leaked()).unwrap();
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        h.with(|held| {
            // SAFETY: nothing is replaced or moved.
            let _raw = unsafe { held.get_mut() };
            panic!("while holding the heap raw")
        })
    }));
    assert!(r.is_err());
    assert_eq!(h.with(|_| ()), Err(AllocError::Poisoned));
}

/// Hole: the documented set-up turned a `static mut` into a `&'static mut`
/// "because `Locked` runs it once" — but a second `Locked` with the same
/// set-up, or a direct call, ran it again, and two heaps shared one arena
/// (two live blocks at one address, from safe code). `StaticMemory` hands
/// its memory out once: the others get an error.
#[test]
fn a_set_up_run_twice_cannot_share_its_arena() {
    static ARENA: StaticMemory<{ 1 << 16 }> = StaticMemory::new();
    struct Claims;
    impl InitHeap<FirstFit> for Claims {
        fn init(heap: &mut FirstFit) -> AllocResult {
            heap.add_static(ARENA.take().ok_or(AllocError::AlreadyInitialized)?)
        }
    }
    let l = Layout::from_size_align(64, 8).unwrap();
    let first: Locked<FirstFit, SpinLock, Claims> = Locked::new(FirstFit::new());
    let a = first.with(|h| h.alloc(l)).unwrap().unwrap();
    let second: Locked<FirstFit, SpinLock, Claims> = Locked::new(FirstFit::new());
    assert_eq!(second.with(|h| h.alloc(l)), Err(AllocError::AlreadyInitialized));
    let mut third = FirstFit::new();
    assert_eq!(<Claims as InitHeap<FirstFit>>::init(&mut third), Err(AllocError::AlreadyInitialized));
    assert!(third.alloc(l).is_err());
    // SAFETY: `a` is live for `l`.
    first.with(|h| unsafe { h.dealloc(a, l) }).unwrap();
}

#[test]
fn get_mut_runs_the_set_up() {
    let mut h: Locked<FirstFit, SpinLock, Gives> = Locked::new(FirstFit::new());
    assert_eq!(h.get_mut().unwrap().total_bytes(), 4096);
    assert_eq!(h.figures().unwrap().total, 4096, "and only once");
}
