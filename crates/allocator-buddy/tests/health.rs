//! `health()`: the wrapped heap does not expose its free lists, so the
//! largest free block, and with it the fragmentation, is unknown (`None`);
//! the figures are exact.

use core::alloc::Layout;

use allocator_buddy::BuddyByteAllocator;
use allocator_core::BaseAllocator;
use allocator_testkit::{health::fragment, TestRegion};

#[test]
fn health_has_exact_figures_and_no_fragmentation_figure() {
    let region = TestRegion::new(64 * 1024, 4096, 0);
    let mut h = BuddyByteAllocator::<32>::new();
    // SAFETY: the region outlives the heap.
    unsafe { h.init(region.ptr(), region.size()) }.unwrap();
    let m = fragment(&mut h, Layout::from_size_align(1000, 8).unwrap(), 1000);
    // 64 blocks of 1 KiB (the power of two above 1000) fill the heap.
    assert_eq!(m.blocks, 64);
    for health in [m.empty, m.holed, m.freed] {
        assert_eq!(
            (health.total, health.largest_free, health.fragmentation_permille()),
            (64 * 1024, None, None)
        );
    }
    assert_eq!((m.empty.used, m.holed.used, m.freed.used), (0, 32 * 1024, 0));
}
