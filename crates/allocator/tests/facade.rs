//! The facade exposes the arceos names and the compositions, with no
//! `unsafe` of its own.
#![cfg(feature = "full")]

use core::alloc::Layout;

use allocator::{
    policy::{Counted, KernelHeap, SmallBlocks},
    prelude::*,
    AllocError, AllocResult, BitmapIdAllocator, BitmapPageAllocator, BuddyByteAllocator, BuddyPageAllocator,
    Locked, SlabByteAllocator, TlsfByteAllocator,
};

fn heap<A: BaseAllocator + ByteAllocator>(mut a: A, memory: &'static mut [u8]) -> AllocResult<A> {
    // SAFETY: leaked memory, the heap's for the rest of the program.
    unsafe { a.init(memory.as_mut_ptr() as usize, memory.len())? };
    Ok(a)
}

fn memory(bytes: usize) -> &'static mut [u8] {
    Box::leak(vec![0u8; bytes].into_boxed_slice())
}

fn round_trip(a: &mut impl ByteAllocator) {
    let l = Layout::from_size_align(100, 8).unwrap();
    let p = a.alloc(l).unwrap();
    // SAFETY: live for `l`.
    unsafe { a.dealloc(p, l) };
    assert_eq!(a.used_bytes(), 0);
    assert_eq!(a.alloc(Layout::new::<()>()), Err(AllocError::InvalidParam));
}

#[test]
fn every_backend_by_its_arceos_name() {
    round_trip(&mut heap(TlsfByteAllocator::new(), memory(1 << 16)).unwrap());
    round_trip(&mut heap(BuddyByteAllocator::<32>::new(), memory(1 << 16)).unwrap());
    round_trip(&mut heap(SlabByteAllocator::new(), memory(1 << 17)).unwrap());
    let mut pages = BitmapPageAllocator::<4096>::new();
    // SAFETY: page allocators touch no memory.
    unsafe { pages.init(0x1000, 1 << 20) }.unwrap();
    assert_eq!(pages.alloc_pages(2, 4096), Ok(0x1000));
    let mut buddy_pages = BuddyPageAllocator::<4096>::new();
    // SAFETY: as above.
    unsafe { buddy_pages.init(0x1000, 1 << 20) }.unwrap();
    assert!(buddy_pages.alloc_pages(2, 4096).is_ok());
    let mut ids = BitmapIdAllocator::<allocator::bitmap::BitAlloc4K>::with_range(0, 100).unwrap();
    assert_eq!(ids.alloc_id(1, 1), Ok(0));
}

#[test]
fn the_short_policy_names_compose() {
    let mut k: Counted<KernelHeap> = Counted::new(
        KernelHeap::new(TlsfByteAllocator::new(), BitmapPageAllocator::new()),
        allocator::policy::Stats::new(),
    );
    let m = memory(1 << 20);
    // SAFETY: leaked memory, the heap's for the rest of the program.
    unsafe { k.init(m.as_mut_ptr() as usize, m.len()) }.unwrap();
    round_trip(&mut k);
    assert_eq!(k.hook().snapshot().allocations, 1);
    let s: SmallBlocks<64, TlsfByteAllocator> =
        SmallBlocks::new(allocator::policy::Pool::new(), TlsfByteAllocator::new());
    let _shared: Locked<_> = Locked::new(s);
}
