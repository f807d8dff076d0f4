//! `health()`: one walk gives the figures and the largest free block, and
//! the fragmentation follows the holes.

use core::alloc::Layout;

use allocator_core::{BaseAllocator, ByteAllocator, Health};
use allocator_testkit::{health::fragment, TestRegion};
use allocator_tlsf::TlsfByteAllocator;

#[test]
fn health_follows_the_holes() {
    let region = TestRegion::new(64 * 1024, 4096, 0);
    let mut h = TlsfByteAllocator::new();
    // SAFETY: the region outlives the heap.
    unsafe { h.init(region.ptr(), region.size()) }.unwrap();
    let m = fragment(&mut h, Layout::from_size_align(1000, 8).unwrap(), 1000);
    assert!(m.blocks > 50, "{m:?}");

    // Empty: all free, one block; only the size classes' rounding is lost
    // (at most 1/16 of the largest block, plus its header).
    assert_eq!((m.empty.used, m.empty.requested, m.empty.peak_requested), (0, None, None));
    assert!(m.empty.fragmentation_permille().unwrap() <= 1000 / 16 + 1, "{:?}", m.empty);

    // Holed: half the blocks free, in holes of one block each: the largest
    // request is about one block, out of some 30 KiB free.
    let holed = m.holed;
    assert!(holed.free() > 30_000 && holed.largest_free.unwrap() < 2000, "{holed:?}");
    assert!(holed.fragmentation_permille().unwrap() > 930, "{holed:?}");

    // Freed: merged back into one block, as at the start.
    assert_eq!(m.freed, m.empty);
}

#[test]
fn health_of_a_heap_with_no_memory() {
    let h = TlsfByteAllocator::new();
    assert_eq!(h.health(), Health::new(allocator_core::Figures::new(0, 0), Some(0)));
    assert_eq!(h.health().fragmentation_permille(), Some(0));
}
