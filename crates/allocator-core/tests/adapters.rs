//! `Locked` as `allocator_api2::alloc::Allocator` and `GlobalAlloc`: zero-size
//! requests, resizes, `try_lock`.

use core::alloc::{GlobalAlloc, Layout};

use allocator_api2::{alloc::Allocator, boxed::Box as Box2, vec::Vec as Vec2};
use allocator_core::{ByteAllocator, Locked};
use allocator_testkit::{FirstFit, TestRegion};

fn heap(region: &TestRegion) -> Locked<FirstFit> {
    let h = Locked::new(FirstFit::new());
    // SAFETY: the region outlives the heap in every test below.
    unsafe { h.init(region.start(), region.size()) }.unwrap();
    h
}

#[test]
fn zero_size_requests_never_reach_the_heap() {
    let region = TestRegion::new(4096, 4096, 0);
    let h = heap(&region);
    for align in [1, 8, 4096, 1 << 20] {
        let l = Layout::from_size_align(0, align).unwrap();
        let p = h.allocate(l).unwrap();
        assert_eq!(p.len(), 0);
        assert_eq!(p.cast::<u8>().as_ptr() as usize % align, 0);
        // SAFETY: a zero-size layout is accepted by `GlobalAlloc` here even
        // though callers should not pass one.
        let g = unsafe { GlobalAlloc::alloc(&h, l) };
        assert!(!g.is_null() && (g as usize).is_multiple_of(align));
        assert_eq!(h.used_bytes(), 0, "a zero-size request reached the heap");
        // SAFETY: zero-size blocks from this heap.
        unsafe {
            h.deallocate(p.cast(), l);
            GlobalAlloc::dealloc(&h, g, l);
        }
    }
    assert_eq!(h.used_bytes(), 0);
}

#[test]
fn collections_live_in_the_heap() {
    let region = TestRegion::new(1 << 20, 4096, 0);
    let h = heap(&region);
    let mut v: Vec2<u64, _> = Vec2::new_in(&h);
    v.extend(0..10_000);
    assert!(h.used_bytes() >= 80_000);
    let b = Box2::new_in([7u8; 1000], &h);
    v.shrink_to_fit();
    assert_eq!(v.iter().sum::<u64>(), 9_999 * 10_000 / 2);
    assert!(b.iter().all(|&x| x == 7));
    drop((v, b));
    assert_eq!(h.used_bytes(), 0);
}

#[test]
fn allocator_resizes_keep_contents_and_zero() {
    let region = TestRegion::new(1 << 16, 4096, 0);
    let h = heap(&region);
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
    assert_eq!(h.used_bytes(), 0);
}

#[test]
fn global_realloc_and_failure() {
    let region = TestRegion::new(4096, 4096, 0);
    let h = heap(&region);
    let l = Layout::from_size_align(100, 4).unwrap();
    // SAFETY: non-zero layouts; `p` is used for its own layout only.
    unsafe {
        let p = GlobalAlloc::alloc(&h, l);
        assert!(!p.is_null());
        p.write_bytes(5, 100);
        let q = GlobalAlloc::realloc(&h, p, l, 1000);
        assert!(!q.is_null());
        assert!(core::slice::from_raw_parts(q, 100).iter().all(|&x| x == 5));
        let too_big = GlobalAlloc::realloc(&h, q, Layout::from_size_align(1000, 4).unwrap(), 1 << 20);
        assert!(too_big.is_null(), "a failed realloc returns null");
        assert!(core::slice::from_raw_parts(q, 100).iter().all(|&x| x == 5), "and keeps the block");
        GlobalAlloc::dealloc(&h, q, Layout::from_size_align(1000, 4).unwrap());
        assert!(GlobalAlloc::alloc(&h, Layout::from_size_align(8192, 1).unwrap()).is_null());
    }
    assert_eq!(h.used_bytes(), 0);
}

#[test]
fn try_lock_fails_instead_of_spinning() {
    let region = TestRegion::new(4096, 4096, 0);
    let h = heap(&region);
    let guard = h.lock();
    assert!(h.try_lock().is_none());
    drop(guard);
    let mut g = h.try_lock().expect("free lock");
    let p = g.alloc(Layout::new::<u32>()).unwrap();
    // SAFETY: allocated just above.
    unsafe { g.dealloc(p, Layout::new::<u32>()) };
}

#[test]
fn locked_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Locked<FirstFit>>();
    let l: Locked<FirstFit<4>> = Locked::new(FirstFit::new());
    assert!(format!("{l:?}").contains("Locked"));
}
