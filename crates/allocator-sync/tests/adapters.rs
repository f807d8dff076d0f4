//! `Locked` as `allocator_api2::alloc::Allocator` and `GlobalAlloc`: zero-size
//! requests, resizes, usable sizes, `try_with`, the locks.

use core::{
    alloc::{GlobalAlloc, Layout},
    mem::MaybeUninit,
    ptr::NonNull,
};

use allocator_api2::{alloc::Allocator, boxed::Box as Box2, vec::Vec as Vec2};
use allocator_core::{AllocError, AllocResult, BaseAllocator, ByteAllocator, Figures};
use allocator_sync::{CriticalSectionLock, Lock, Locked, SpinLock, TicketLock};
use allocator_testkit::{FirstFit, TestRegion};

fn heap<L: Lock>(region: &TestRegion) -> Locked<FirstFit, L> {
    let h = Locked::new(FirstFit::new());
    // SAFETY: the region outlives the heap in every test below.
    unsafe { h.init(region.ptr(), region.size()) }.unwrap();
    h
}

fn used<L: Lock>(h: &Locked<FirstFit, L>) -> usize {
    h.figures().unwrap().used
}

#[test]
fn zero_size_requests_never_reach_the_heap() {
    let region = TestRegion::new(4096, 4096, 0);
    let h = heap::<SpinLock>(&region);
    for align in [1, 8, 4096, 1 << 20] {
        let l = Layout::from_size_align(0, align).unwrap();
        let p = h.allocate(l).unwrap();
        assert_eq!(p.len(), 0);
        assert_eq!(p.cast::<u8>().as_ptr() as usize % align, 0);
        // SAFETY: a zero-size layout is accepted by `GlobalAlloc` here even
        // though callers should not pass one.
        let g = unsafe { GlobalAlloc::alloc(&h, l) };
        assert!(!g.is_null() && (g as usize).is_multiple_of(align));
        assert_eq!(used(&h), 0, "a zero-size request reached the heap");
        // SAFETY: zero-size blocks from this heap.
        unsafe {
            h.deallocate(p.cast(), l);
            GlobalAlloc::dealloc(&h, g, l);
        }
    }
    assert_eq!(used(&h), 0);
}

#[test]
fn collections_live_in_the_heap_with_every_lock() {
    fn run<L: Lock + Sync>() {
        let region = TestRegion::new(1 << 20, 4096, 0);
        let h = heap::<L>(&region);
        let mut v: Vec2<u64, _> = Vec2::new_in(&h);
        v.extend(0..10_000);
        assert!(used(&h) >= 80_000);
        let b = Box2::new_in([7u8; 1000], &h);
        v.shrink_to_fit();
        assert_eq!(v.iter().sum::<u64>(), 9_999 * 10_000 / 2);
        assert!(b.iter().all(|&x| x == 7));
        drop((v, b));
        assert_eq!(used(&h), 0);
    }
    run::<SpinLock>();
    run::<TicketLock>();
    run::<CriticalSectionLock>();
}

#[test]
fn allocator_resizes_keep_contents_and_zero() {
    let region = TestRegion::new(1 << 16, 4096, 0);
    let h = heap::<SpinLock>(&region);
    let small = Layout::from_size_align(16, 8).unwrap();
    let big = Layout::from_size_align(256, 8).unwrap();
    let p = h.allocate(small).unwrap().cast::<u8>();
    // SAFETY: `p` is a live 16-byte block; resizes follow the trait's rules.
    unsafe {
        p.as_ptr().write_bytes(0xAB, 16);
        let g = h.grow_zeroed(p, small, big).unwrap().cast::<u8>();
        let s = core::slice::from_raw_parts(g.as_ptr(), 256);
        assert!(s[..16].iter().all(|&x| x == 0xAB) && s[16..].iter().all(|&x| x == 0));
        let z = h.shrink(g, big, Layout::from_size_align(0, 8).unwrap()).unwrap();
        assert_eq!(z.len(), 0);
        let n = h.grow(z.cast(), Layout::from_size_align(0, 8).unwrap(), small).unwrap();
        assert_eq!(n.len(), 16);
        h.deallocate(n.cast(), small);
    }
    assert_eq!(used(&h), 0);
}

#[test]
fn global_realloc_in_place_moved_and_failed() {
    let region = TestRegion::new(1 << 20, 4096, 0);
    let h = heap::<SpinLock>(&region);
    let l = Layout::from_size_align(100, 4).unwrap();
    // SAFETY: non-zero layouts; each pointer is used for its own layout.
    unsafe {
        let p = GlobalAlloc::alloc(&h, l);
        assert!(!p.is_null());
        p.write_bytes(5, 100);
        // Nothing follows the block: it grows in place.
        let q = GlobalAlloc::realloc(&h, p, l, 1000);
        assert_eq!(q, p, "an in-place grow must not move");
        assert!(core::slice::from_raw_parts(q, 100).iter().all(|&x| x == 5));
        // A neighbour forces a move; a large one copies outside the lock.
        let wall = GlobalAlloc::alloc(&h, l);
        let big = Layout::from_size_align(1000, 4).unwrap();
        let r = GlobalAlloc::realloc(&h, q, big, 64 * 1024);
        assert!(!r.is_null() && r != q);
        assert!(core::slice::from_raw_parts(r, 100).iter().all(|&x| x == 5));
        let huge = Layout::from_size_align(64 * 1024, 4).unwrap();
        let too_big = GlobalAlloc::realloc(&h, r, huge, 4 << 20);
        assert!(too_big.is_null(), "a failed realloc returns null");
        assert!(core::slice::from_raw_parts(r, 100).iter().all(|&x| x == 5), "and keeps the block");
        GlobalAlloc::dealloc(&h, r, huge);
        GlobalAlloc::dealloc(&h, wall, l);
        assert!(GlobalAlloc::alloc(&h, Layout::from_size_align(8 << 20, 1).unwrap()).is_null());
    }
    assert_eq!(used(&h), 0);
}

#[test]
fn try_with_fails_instead_of_waiting() {
    let region = TestRegion::new(4096, 4096, 0);
    let h = heap::<SpinLock>(&region);
    let inner = h.with(|_| h.try_with(|_| ()));
    assert_eq!(inner, Ok(Err(AllocError::Busy)));
    let r = h.try_with(|g| {
        let p = g.alloc(Layout::new::<u32>()).unwrap();
        // SAFETY: allocated just above.
        unsafe { g.dealloc(p, Layout::new::<u32>()) };
    });
    assert_eq!(r, Ok(()));
}

/// Hole: a heap re-entered by the context that holds it spun forever.
/// Now it fails: with `std`, by thread identity; with the critical-section
/// lock, by its busy flag.
#[test]
fn a_re_entered_heap_fails_instead_of_spinning() {
    let region = TestRegion::new(4096, 4096, 0);
    let spin = heap::<SpinLock>(&region);
    let l = Layout::new::<u64>();
    let r = spin.with(|_| {
        // SAFETY: a valid layout.
        let p = unsafe { GlobalAlloc::alloc(&spin, l) };
        (p.is_null(), spin.with(|_| ()))
    });
    assert_eq!(r, Ok((true, Err(AllocError::Busy))));
    let region2 = TestRegion::new(4096, 4096, 0);
    let cs = heap::<CriticalSectionLock>(&region2);
    let r = cs.with(|_| cs.with(|_| ()));
    assert_eq!(r, Ok(Err(AllocError::Busy)));
    // Both still work afterwards.
    assert!(spin.with(|h| h.alloc(l).is_ok()).unwrap());
    assert!(cs.with(|h| h.alloc(l).is_ok()).unwrap());
}

/// A heap that rounds every block up to 64 bytes and says so.
#[derive(Debug, Default)]
struct Rounding(FirstFit);

impl BaseAllocator for Rounding {
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

fn rounded(l: Layout) -> Layout {
    Layout::from_size_align(l.size().next_multiple_of(64), l.align()).unwrap()
}

// SAFETY: every block is a FirstFit block of the rounded size, so the
// usable size (the rounded one) is really the block's.
unsafe impl ByteAllocator for Rounding {
    fn alloc(&mut self, layout: Layout) -> AllocResult<NonNull<u8>> {
        self.0.alloc(rounded(layout))
    }

    unsafe fn dealloc(&mut self, ptr: NonNull<u8>, layout: Layout) {
        // SAFETY: forwarded; any fitting size rounds to the block's size.
        unsafe { self.0.dealloc(ptr, rounded(layout)) }
    }

    unsafe fn usable_size(&self, _ptr: NonNull<u8>, layout: Layout) -> usize {
        rounded(layout).size()
    }

    unsafe fn resize_in_place(&mut self, _ptr: NonNull<u8>, layout: Layout, new_size: usize) -> AllocResult {
        // In place while the rounded block still holds it.
        if new_size != 0 && new_size <= rounded(layout).size() && new_size > rounded(layout).size() - 64 {
            Ok(())
        } else {
            Err(AllocError::Unsupported)
        }
    }

    fn figures(&self) -> Figures {
        self.0.figures()
    }
}

/// The usable size is the slice length `allocate` and `grow` return, and a
/// block may be freed with any size up to it. (allocator-api2's and std's
/// `Vec` record the capacity they asked for, not the slice length, so the
/// slack reaches code that reads the length, not `Vec::capacity`.)
#[test]
fn usable_size_is_the_slice_length() {
    let region = TestRegion::new(1 << 16, 4096, 0);
    let h: Locked<Rounding> = Locked::new(Rounding::default());
    // SAFETY: the region outlives the heap.
    unsafe { h.init(region.ptr(), region.size()) }.unwrap();
    let p = h.allocate(Layout::from_size_align(10, 1).unwrap()).unwrap();
    assert_eq!(p.len(), 64, "the slice is the usable size");
    // SAFETY: freed with a size between the requested and the usable one.
    unsafe { h.deallocate(p.cast(), Layout::from_size_align(64, 1).unwrap()) };
    let small = Layout::from_size_align(10, 1).unwrap();
    let p = h.allocate(small).unwrap();
    // SAFETY: a live block, grown within its usable size.
    let g = unsafe { h.grow(p.cast(), small, Layout::from_size_align(60, 1).unwrap()) }.unwrap();
    assert_eq!((g.cast::<u8>(), g.len()), (p.cast::<u8>(), 64), "in place, within the slack");
    // SAFETY: freed with its usable size.
    unsafe { h.deallocate(g.cast(), Layout::from_size_align(64, 1).unwrap()) };
    let mut v: Vec2<u8, _> = Vec2::with_capacity_in(10, &h);
    v.extend_from_slice(&[1; 100]);
    drop(v);
    assert_eq!(h.figures().unwrap().used, 0);
}

#[test]
fn add_static_is_safe() {
    let h: Locked<FirstFit> = Locked::new(FirstFit::new());
    let memory: &'static mut [MaybeUninit<u8>] = Box::leak(Box::new([MaybeUninit::uninit(); 4096]));
    h.add_static(memory).unwrap();
    assert_eq!(h.figures().unwrap().total, 4096);
}

#[test]
fn locked_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Locked<FirstFit>>();
    check::<Locked<FirstFit, CriticalSectionLock>>();
    check::<Locked<FirstFit, TicketLock>>();
    let l: Locked<FirstFit<4>> = Locked::new(FirstFit::new());
    assert!(format!("{l:?}").contains("Locked"));
}
