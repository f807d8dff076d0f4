//! `health()`: the wrapped heap does not expose its free lists, so the
//! largest free block, and with it the fragmentation, is unknown (`None`);
//! the figures are the wrapper's.

use core::alloc::Layout;

use allocator_core::BaseAllocator;
use allocator_slab::{SlabByteAllocator, MIN_FIRST_REGION, PAGE};
use allocator_testkit::{health::fragment, TestRegion};

#[test]
fn health_has_the_figures_and_no_fragmentation_figure() {
    let region = TestRegion::new(8 * MIN_FIRST_REGION, PAGE, 0);
    let mut h = SlabByteAllocator::new();
    // SAFETY: the region outlives the heap.
    unsafe { h.init(region.ptr(), region.size()) }.unwrap();
    let m = fragment(&mut h, Layout::from_size_align(1000, 8).unwrap(), 1000);
    assert!(m.blocks > 8, "{m:?}");
    for health in [m.empty, m.holed, m.freed] {
        assert_eq!(
            (health.total, health.largest_free, health.fragmentation_permille()),
            (8 * MIN_FIRST_REGION, None, None)
        );
    }
    assert_eq!(m.empty.used, 0);
    assert!(m.holed.used > 0 && m.holed.used < m.holed.total, "{:?}", m.holed);
    assert_eq!(m.freed.used, m.empty.used);
}
