//! `health()` of every combinator: the same figures and largest free block
//! as the separate queries (checked by `fragment` at every moment), and
//! the fragmentation each one's way of serving implies.

use core::alloc::Layout;

use allocator_bitmap::BitmapPageAllocator;
use allocator_compose::{
    Checked, FailAfter, Fallback, NullAllocator, Pool, Proxy, Refill, Region, Segregator, Stats, System,
};
use allocator_core::{BaseAllocator, ByteAllocator, Figures, Health, PageAllocator};
use allocator_testkit::{health::fragment, TestRegion};
use allocator_tlsf::TlsfByteAllocator;

fn l(size: usize) -> Layout {
    Layout::from_size_align(size, 8).unwrap()
}

/// `A` over `region`.
fn over<A: BaseAllocator<Addr = *mut u8>>(mut a: A, regions: &[&TestRegion]) -> A {
    for r in regions {
        // SAFETY: the regions outlive the allocator in each test.
        unsafe { a.add_memory(r.ptr(), r.size()) }.unwrap();
    }
    a
}

/// Fixed blocks: one block is the largest request, so however much is
/// free, all but one block of it counts as fragmented.
#[test]
fn a_pool_is_as_fragmented_as_its_free_blocks_are_many() {
    let region = TestRegion::new(100 * 64, 64, 0);
    let mut pool = over(Pool::<64>::new(), &[&region]);
    let m = fragment(&mut pool, l(64), 1000);
    assert_eq!(m.blocks, 100);
    assert_eq!((m.empty.total, m.empty.used, m.empty.largest_free), (6400, 0, Some(64)));
    assert_eq!(m.empty.fragmentation_permille(), Some(990));
    assert_eq!((m.holed.free(), m.holed.fragmentation_permille()), (50 * 64, Some(980)));
    assert_eq!(m.freed, m.empty);
    // Full: nothing free, nothing fragmented.
    let blocks: Vec<_> = (0..100).map(|_| pool.alloc(l(64)).unwrap()).collect();
    assert_eq!((pool.health().largest_free, pool.health().fragmentation_permille()), (Some(0), Some(0)));
    for p in blocks {
        // SAFETY: live for this layout.
        unsafe { pool.dealloc(p, l(64)) };
    }
}

/// A bump region's free memory is all above the pointer: never
/// fragmented, whatever was freed below it.
#[test]
fn a_region_is_never_fragmented() {
    let region = TestRegion::new(64 * 1024, 64, 0);
    let mut r = over(Region::new(), &[&region]);
    let m = fragment(&mut r, l(1000), 1000);
    assert_eq!(m.blocks, 65);
    for h in [m.empty, m.holed, m.freed] {
        assert_eq!(h.largest_free, Some(h.free()));
        assert_eq!(h.fragmentation_permille(), Some(0), "{h:?}");
    }
    assert!(m.holed.used > 60 * 1000, "freed blocks below the pointer stay used: {:?}", m.holed);
}

/// The parts' figures added up; the largest free block the larger of the
/// parts' (`alloc` tries both).
#[test]
fn fallback_and_segregator_add_their_parts_up() {
    let (small, large) = (TestRegion::new(64 * 64, 64, 0), TestRegion::new(64 * 1024, 4096, 0));

    let mut f = Fallback::new(over(Pool::<64>::new(), &[&small]), over(TlsfByteAllocator::new(), &[&large]));
    let empty = f.health();
    assert_eq!(empty.figures(), f.primary().figures().plus(f.secondary().figures()));
    assert_eq!(empty.largest_free, f.secondary().largest_free());
    let m = fragment(&mut f, l(64), 10_000);
    assert!(m.blocks > 64 + 500, "{m:?}");
    assert!(m.holed.fragmentation_permille() > Some(950), "{:?}", m.holed);
    assert_eq!(m.freed, m.empty);

    let (small, large) = (TestRegion::new(64 * 64, 64, 0), TestRegion::new(64 * 1024, 4096, 0));
    let mut s = Segregator::<64, _, _>::new(
        over(Pool::<64>::new(), &[&small]),
        over(TlsfByteAllocator::new(), &[&large]),
    );
    let m = fragment(&mut s, l(200), 10_000);
    assert_eq!(m.empty.figures(), s.small().figures().plus(s.large().figures()));
    assert_eq!(m.empty.largest_free, s.large().largest_free());
    assert!(m.holed.fragmentation_permille() > Some(800), "{:?}", m.holed);
    assert_eq!(m.freed, m.empty);
}

/// `Proxy<_, Stats>` adds the requested bytes, now and at the peak (of
/// requested sizes, not of `used`); another hook adds nothing, and one
/// that refuses requests narrows the largest free block in the health too.
#[test]
fn a_stats_proxy_adds_requested_bytes_and_their_peak() {
    let region = TestRegion::new(64 * 1024, 4096, 0);
    let mut p = Proxy::new(over(TlsfByteAllocator::new(), &[&region]), Stats::new());
    let m = fragment(&mut p, l(1000), 1000);
    let n = m.blocks;
    assert_eq!((m.empty.requested, m.empty.peak_requested), (Some(0), Some(0)));
    assert_eq!((m.holed.requested, m.holed.peak_requested), (Some(n / 2 * 1000), Some(n * 1000)));
    assert_eq!((m.freed.requested, m.freed.peak_requested), (Some(0), Some(n * 1000)));
    assert!(m.holed.used > m.holed.requested.unwrap(), "used counts headers and rounding");
    let inner = p.inner().health();
    assert_eq!(p.health(), inner.with_requested(0, n * 1000));
    assert_eq!(p.hook().snapshot().peak_bytes_live, n * 1000);

    let region = TestRegion::new(64 * 1024, 4096, 0);
    let mut capped =
        Proxy::new(over(TlsfByteAllocator::new(), &[&region]), (FailAfter::over(100), Stats::new()));
    let h = capped.health();
    assert_eq!((h.largest_free, h.requested), (Some(100), Some(0)));
    assert!(capped.alloc(l(101)).is_err());
}

/// The heap's own figures with the spare pages counted free; the largest
/// free block is the heap's, so pages not yet refilled count as
/// fragmented (the heap's own health is `heap().health()`).
#[test]
fn a_refilled_heap_counts_its_spare_pages_as_free() {
    let region = TestRegion::new(1 << 20, 4096, 0);
    // SAFETY: the page allocator is given `region` only: real memory whose
    // address, exposed below, is a pointer to it.
    let mut r = unsafe { Refill::new(TlsfByteAllocator::new(), BitmapPageAllocator::<4096>::new()) };
    // SAFETY: the region outlives the allocator.
    unsafe { r.init(region.addr(), region.size()) }.unwrap();
    let m = fragment(&mut r, l(1000), 200);
    assert_eq!(m.blocks, 200);
    // Nothing refilled yet: a megabyte free, none of it in the heap.
    assert_eq!(
        (m.empty.total, m.empty.largest_free, m.empty.fragmentation_permille()),
        (1 << 20, Some(0), Some(1000))
    );
    assert_eq!(m.freed.total, r.heap().total_bytes() + r.pages().available_pages() * 4096);
    let heap = r.heap().health();
    assert_eq!((heap.used, heap.largest_free), (0, r.largest_free()));
    // Each refill is a region of its own: the heap's largest free block
    // is one of them.
    assert!(heap.total > 200 * 1000 && heap.largest_free < Some(heap.total), "{heap:?}");
}

/// `Checked`: its inner heap's figures (canaries and quarantined blocks
/// counted used), its own largest free block (less the canaries).
#[test]
fn a_checked_heap_reports_its_inner_figures() {
    let region = TestRegion::new(64 * 1024, 4096, 0);
    let mut c: Checked<TlsfByteAllocator, 256, 0> = Checked::new(over(TlsfByteAllocator::new(), &[&region]));
    let m = fragment(&mut c, l(1000), 1000);
    assert_eq!(m.empty.figures(), c.inner().figures());
    assert_eq!(m.empty.largest_free.unwrap(), c.inner().largest_free().unwrap() - 47);
    assert!(m.holed.fragmentation_permille() > Some(930), "{:?}", m.holed);
    assert_eq!(m.freed, m.empty);
}

/// No memory and no largest free block known: no fragmentation figure.
#[test]
fn null_and_system_cannot_tell_their_largest_free_block() {
    let null = NullAllocator;
    assert_eq!(null.health(), Health::new(Figures::new(0, 0), None));
    assert_eq!(null.health().fragmentation_permille(), None);
    let mut s = System::new();
    let p = s.alloc(l(100)).unwrap();
    let h = s.health();
    assert_eq!((h.used, h.largest_free, h.fragmentation_permille()), (100, None, None));
    // SAFETY: live for this layout, freed through the handle that made it.
    unsafe { s.dealloc(p, l(100)) };
}

/// Through a lock (as the workbench and a global allocator read it):
/// `with(|h| (**h).health())`, the heap's own answer (the guard `Held` is
/// itself a `ByteAllocator` that forwards figures and largest free block,
/// not yet `health`, so it is asked through `Deref`).
#[test]
fn a_locked_heap_answers_through_with() {
    use allocator_sync::Locked;

    let region = TestRegion::new(64 * 1024, 4096, 0);
    let locked: Locked<Proxy<TlsfByteAllocator, Stats>> =
        Locked::new(Proxy::new(over(TlsfByteAllocator::new(), &[&region]), Stats::new()));
    let p = locked.with(|h| h.alloc(l(1000))).unwrap().unwrap();
    let h = locked.with(|h| (**h).health()).unwrap();
    assert_eq!((h.requested, h.peak_requested), (Some(1000), Some(1000)));
    assert_eq!(h.figures(), locked.figures().unwrap());
    // SAFETY: live for this layout.
    locked.with(|h| unsafe { h.dealloc(p, l(1000)) }).unwrap();
    let h = locked.with(|h| (**h).health()).unwrap();
    assert_eq!((h.used, h.requested, h.peak_requested), (0, Some(0), Some(1000)));
}
