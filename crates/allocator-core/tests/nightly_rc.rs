//! Nightly: `core::alloc::Allocator` for `Locked` and `AllocatorRc`.
#![cfg(feature = "allocator_api")]
#![feature(allocator_api)]

use allocator_core::{AllocatorRc, ByteAllocator, Locked};
use allocator_testkit::{FirstFit, TestRegion};

#[test]
fn std_collections_share_one_rc_heap() {
    let pool: &'static mut [u8] = Box::leak(vec![0u8; 1 << 16].into_boxed_slice());
    let heap = AllocatorRc::with_pool(FirstFit::<256>::new(), pool).unwrap();
    let mut v: Vec<u64, _> = Vec::new_in(heap.clone());
    v.extend(0..1000);
    let b = Box::new_in(5u32, heap.clone());
    assert!(heap.with(|h| h.used_bytes()) >= 8004);
    drop((v, b));
    assert_eq!(heap.with(|h| h.used_bytes()), 0);
}

#[test]
fn std_collections_in_a_locked_heap() {
    let region = TestRegion::new(1 << 16, 4096, 0);
    let heap: Locked<FirstFit<256>> = Locked::new(FirstFit::new());
    // SAFETY: the region outlives the heap.
    unsafe { heap.init(region.start(), region.size()) }.unwrap();
    let mut v: Vec<u8, &Locked<FirstFit<256>>> = Vec::new_in(&heap);
    v.extend_from_slice(b"hello");
    assert_eq!(&v, b"hello");
    drop(v);
    assert_eq!(heap.used_bytes(), 0);
}
