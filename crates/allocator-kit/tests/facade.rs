//! The facade exposes the arceos names and the compositions, with no
//! `unsafe` of its own.
#![cfg(feature = "full")]

use core::{alloc::Layout, mem::MaybeUninit};

use allocator::{
    policy::{Counted, KernelHeap, SmallBlocks},
    prelude::*,
    AllocError, AllocResult, BitmapIdAllocator, BitmapPageAllocator, BuddyByteAllocator, BuddyPageAllocator,
    Locked, SlabByteAllocator, TlsfByteAllocator,
};

fn heap<A: BaseAllocator<Addr = *mut u8> + ByteAllocator>(
    mut a: A,
    memory: &'static mut [MaybeUninit<u8>],
) -> AllocResult<A> {
    a.add_static(memory)?;
    Ok(a)
}

fn memory(bytes: usize) -> &'static mut [MaybeUninit<u8>] {
    // Page-aligned, as the slab heap wants it.
    let m = Box::leak(vec![MaybeUninit::uninit(); bytes + 4096].into_boxed_slice());
    let skip = (4096 - m.as_ptr().addr() % 4096) % 4096;
    &mut m[skip..skip + bytes]
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
    round_trip(&mut heap(BuddyByteAllocator::new(), memory(1 << 16)).unwrap());
    round_trip(&mut heap(SlabByteAllocator::new(), memory(1 << 17)).unwrap());
    // In a static, as in a kernel: the features may make its map 34 MiB.
    static PAGES: Locked<BitmapPageAllocator<4096>> = Locked::new(BitmapPageAllocator::new());
    // SAFETY: page allocators touch no memory.
    unsafe { PAGES.init(0x1000, 1 << 20) }.unwrap();
    assert_eq!(PAGES.with(|pages| pages.alloc_pages(2, 4096)).unwrap(), Ok(0x1000));
    let mut buddy_pages = BuddyPageAllocator::<4096>::new();
    // SAFETY: as above.
    unsafe { buddy_pages.init(0x1000, 1 << 20) }.unwrap();
    assert!(buddy_pages.alloc_pages(2, 4096).is_ok());
    let mut ids = BitmapIdAllocator::<allocator::bitmap::BitAlloc4K>::with_range(0, 100).unwrap();
    assert_eq!(ids.alloc_id(1, 1), Ok(0));
}

#[test]
fn the_short_policy_names_compose() {
    // A static: the kernel heap's page map is the features' choice.
    static K: Locked<Counted<KernelHeap>> = Locked::new(Counted::new(
        // SAFETY: the page allocator is given leaked, identity-mapped
        // memory below, used by nothing else.
        unsafe { KernelHeap::new(TlsfByteAllocator::new(), BitmapPageAllocator::new()) },
        allocator::policy::Stats::new(),
    ));
    let m = memory(1 << 20);
    // SAFETY: leaked memory, the heap's for the rest of the program; its
    // provenance is exposed so the heap may use the pages.
    unsafe { K.init(m.as_mut_ptr().expose_provenance(), m.len()) }.unwrap();
    K.with(|k| {
        round_trip(k);
        assert_eq!(k.hook().snapshot().allocations, 1);
    })
    .unwrap();
    let s: SmallBlocks<64, TlsfByteAllocator> =
        SmallBlocks::new(allocator::policy::Pool::new(), TlsfByteAllocator::new());
    let _shared: Locked<_> = Locked::new(s);
}

/// arceos code names the buddy heap without its order.
#[test]
fn arceos_names_compile_unchanged() {
    let mut b = BuddyByteAllocator::new();
    let _: &mut dyn ByteAllocator<Addr = *mut u8> = &mut b;
    let _ = SlabByteAllocator::new();
    let _ = TlsfByteAllocator::new();
}

/// The `page-alloc-*` features choose the map of the root
/// `BitmapPageAllocator` alias, the largest enabled winning (arceos's
/// rule); the bitmap crate's own type keeps the map it names.
#[test]
fn page_alloc_features_choose_the_alias_map_alone() {
    let expected = if cfg!(feature = "page-alloc-1t") {
        256 << 20
    } else if cfg!(feature = "page-alloc-64g") {
        16 << 20
    } else if cfg!(feature = "page-alloc-4g") {
        1 << 20
    } else {
        64 << 10
    };
    assert_eq!(BitmapPageAllocator::<4096>::CAPACITY_PAGES, expected);
    assert_eq!(<allocator::BitmapPageMap as allocator::bitmap::BitAlloc>::CAP, expected);
    assert_eq!(
        allocator::bitmap::BitmapPageAllocator::<4096>::CAPACITY_PAGES,
        64 << 10,
        "the crate's default"
    );
    assert_eq!(
        allocator::bitmap::BitmapPageAllocator::<4096, allocator::bitmap::BitAlloc1M>::CAPACITY_PAGES,
        1 << 20
    );
}
