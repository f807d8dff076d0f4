//! The page map is a type parameter: each allocator manages exactly the
//! capacity its own type names, at any base, clipping what lies beyond;
//! the largest map (34 MiB) lives in a `static`, never on a stack.

use core::mem::size_of;

use allocator_bitmap::{
    BitAlloc, BitAlloc16, BitAlloc16M, BitAlloc1M, BitAlloc256, BitAlloc256M, BitAlloc4K, BitAlloc64K,
    BitmapPageAllocator, PageMap,
};
use allocator_core::{AllocError, PageAllocator};
use allocator_sync::Locked;

/// `p` (empty) given `[base, base + size)` manages exactly `capacity`
/// pages from `base` on: the last one can be placed, the one after it is
/// outside, and (when `whole_run`) a run of the whole capacity fits; a
/// scan of the map, seconds for the largest. Skipped (`false`) when the
/// region does not fit the address space (a large map on 32 bits).
fn whole_capacity_then_clipped<P: PageAllocator>(
    p: &mut P,
    base: usize,
    capacity: usize,
    whole_run: bool,
) -> bool {
    let ps = P::PAGE_SIZE;
    // Ten pages more than the map holds.
    let Some(size) = capacity.checked_add(10).and_then(|n| n.checked_mul(ps)) else { return false };
    if base.checked_add(size).is_none() {
        return false;
    }
    // SAFETY: page allocators touch no memory.
    unsafe { p.init(base, size) }.unwrap();
    assert_eq!(p.total_pages(), capacity, "clipped to the map");
    let last = base + (capacity - 1) * ps;
    assert_eq!(p.alloc_pages_at(last, 1, ps), Ok(last));
    assert_eq!(p.alloc_pages_at(last + ps, 1, ps), Err(AllocError::InvalidParam), "past the map");
    assert_eq!(p.alloc_pages(capacity, ps), Err(AllocError::NoMemory), "one page is taken");
    // SAFETY: touches nothing.
    unsafe { p.dealloc_pages(last, 1) }.unwrap();
    if !whole_run {
        return true;
    }
    assert_eq!(p.alloc_pages(capacity, ps), Ok(base), "the whole capacity in one run");
    assert_eq!(p.available_pages(), 0);
    // SAFETY: touches nothing.
    unsafe { p.dealloc_pages(base, capacity) }.unwrap();
    assert_eq!(p.used_pages(), 0);
    true
}

/// Just below 2 GiB: rounding the base down to 1 GiB (as arceos does)
/// would waste a gigabyte of the capacity.
const ODD_BASE: usize = 0x8000_0000 - 4096;

fn on_the_stack<M: PageMap>() -> bool {
    let mut p = BitmapPageAllocator::<4096, M>::new();
    assert_eq!(BitmapPageAllocator::<4096, M>::CAPACITY_PAGES, M::CAP);
    whole_capacity_then_clipped(&mut p, ODD_BASE, M::CAP, true)
}

#[test]
fn small_maps_hold_their_capacity_at_any_base() {
    assert!(on_the_stack::<BitAlloc16>());
    assert!(on_the_stack::<BitAlloc256>());
    assert!(on_the_stack::<BitAlloc4K>());
    assert!(on_the_stack::<BitAlloc64K>());
    // 137 KiB: a test thread's default stack holds it.
    #[cfg(target_pointer_width = "64")]
    assert!(on_the_stack::<BitAlloc1M>());
}

#[test]
fn the_defaults_are_4_kib_pages_and_a_64_ki_map() {
    let p: BitmapPageAllocator = BitmapPageAllocator::<4096, BitAlloc64K>::new();
    assert_eq!(<BitmapPageAllocator as PageAllocator>::PAGE_SIZE, 4096);
    assert_eq!(BitmapPageAllocator::<4096>::CAPACITY_PAGES, 65536);
    assert_eq!(p.total_pages(), 0);
    // A page size of its own keeps the default map.
    assert_eq!(BitmapPageAllocator::<{ 2 << 20 }>::CAPACITY_PAGES, 65536);
}

/// The sizes the crate docs' capacity table gives: each map, and the
/// allocator around it.
#[test]
fn maps_take_the_bytes_the_docs_say() {
    fn bytes<M: PageMap>() -> (usize, usize) {
        (size_of::<M>(), size_of::<BitmapPageAllocator<4096, M>>() - size_of::<M>())
    }
    let maps = [
        (bytes::<BitAlloc16>(), 2),
        (bytes::<BitAlloc256>(), 34),
        (bytes::<BitAlloc4K>(), 546),
        (bytes::<BitAlloc64K>(), 8_738),
        (bytes::<BitAlloc1M>(), 139_810),
        (bytes::<BitAlloc16M>(), 2_236_962),
        (bytes::<BitAlloc256M>(), 35_791_394),
    ];
    for ((map, rest), documented) in maps {
        assert_eq!(map, documented);
        assert!(rest <= 600, "about 560 bytes besides the map, not {rest}");
    }
}

/// The 16 Mi-page map (2.1 MiB) in a static.
static PAGES_64G: Locked<BitmapPageAllocator<4096, BitAlloc16M>> = Locked::new(BitmapPageAllocator::new());
/// The 256 Mi-page map (34 MiB) in a static: `.bss`, never a stack.
static PAGES_1T: Locked<BitmapPageAllocator<4096, BitAlloc256M>> = Locked::new(BitmapPageAllocator::new());

#[test]
#[cfg(target_pointer_width = "64")]
fn the_large_maps_hold_their_capacity_from_a_static() {
    assert!(PAGES_64G.with(|p| whole_capacity_then_clipped(p, ODD_BASE, BitAlloc16M::CAP, false)).unwrap());
    assert!(PAGES_1T.with(|p| whole_capacity_then_clipped(p, ODD_BASE, 256 << 20, false)).unwrap());
    PAGES_1T
        .with(|p| {
            // A terabyte at an odd base still serves 1 GiB-aligned runs.
            let a = p.alloc_pages(3, 1 << 30).unwrap();
            assert_eq!(a % (1 << 30), 0);
            // SAFETY: touches nothing.
            unsafe { p.dealloc_pages(a, 3) }.unwrap();
        })
        .unwrap();
}
