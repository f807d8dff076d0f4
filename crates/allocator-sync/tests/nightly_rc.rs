//! Nightly: `core::alloc::Allocator` for `Locked` and `AllocatorRc`.
#![cfg(feature = "allocator_api")]
#![feature(allocator_api)]

use core::mem::MaybeUninit;

use allocator_core::{AllocError, ByteAllocator};
use allocator_sync::{AllocatorRc, Locked};
use allocator_testkit::{FirstFit, TestRegion};

fn pool() -> &'static mut [MaybeUninit<u8>] {
    Box::leak(Box::new([MaybeUninit::uninit(); 1 << 16]))
}

#[test]
fn std_collections_share_one_rc_heap() {
    let heap = AllocatorRc::with_pool(FirstFit::<256>::new(), pool()).unwrap();
    let mut v: Vec<u64, _> = Vec::new_in(heap.clone());
    v.extend(0..1000);
    let b = Box::new_in(5u32, heap.clone());
    assert!(heap.with(|h| h.used_bytes()).unwrap() >= 8004);
    drop((v, b));
    assert_eq!(heap.with(|h| h.used_bytes()), Ok(0));
}

/// Hole: allocating through a clone while `with` runs panicked ("already
/// borrowed"). Now it is an error, and the allocation fails.
#[test]
fn an_rc_heap_re_entered_from_with_fails() {
    let heap = AllocatorRc::with_pool(FirstFit::<256>::new(), pool()).unwrap();
    let inner = heap.clone();
    let r = heap.with(|_| {
        let nested = inner.with(|_| ());
        let boxed = Box::try_new_in(1u8, inner.clone());
        (nested, boxed.is_err())
    });
    assert_eq!(r, Ok((Err(AllocError::Busy), true)));
}

#[test]
fn std_collections_in_a_locked_heap() {
    let region = TestRegion::new(1 << 16, 4096, 0);
    let heap: Locked<FirstFit<256>> = Locked::new(FirstFit::new());
    // SAFETY: the region outlives the heap.
    unsafe { heap.init(region.ptr(), region.size()) }.unwrap();
    let mut v: Vec<u8, &Locked<FirstFit<256>>> = Vec::new_in(&heap);
    v.extend_from_slice(b"hello");
    assert_eq!(&v, b"hello");
    drop(v);
    assert_eq!(heap.figures().unwrap().used, 0);
}
