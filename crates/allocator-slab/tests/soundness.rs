//! Regression tests for the holes the v2 port closed, one per hole.

use core::alloc::Layout;

use allocator_core::{BaseAllocator, ByteAllocator};
use allocator_slab::{SlabByteAllocator, MIN_FIRST_REGION};
use allocator_testkit::TestRegion;

/// Hole: the buddy heap inside ax_slab_allocator merges free buddies
/// across the seam of two adjacent regions, so a block may span both;
/// `owns` looked the block up in one region at a time and answered false,
/// and a `Fallback` freed it into its other part. Here the only 64 KiB
/// block spans the two 32 KiB regions; it must be owned and free cleanly.
#[test]
fn a_block_merged_across_two_adjacent_regions_is_owned_and_freed() {
    allocator_testkit::expect(allocator_testkit::byte::owns_a_block_merged_across_the_seam(
        SlabByteAllocator::new(),
        MIN_FIRST_REGION,
    ));
}

/// Hole: the buddy heap inside ax_slab_allocator subtracts the size a
/// block is freed with from the size it was allocated with, so freeing a
/// large block with its usable size (allowed: "memory fitting") underflowed
/// its counter (a panic in debug builds). It is now given the whole block
/// both ways; slab blocks are routed by their class both ways.
#[test]
fn blocks_free_with_any_size_up_to_usable_size() {
    let region = TestRegion::new(1 << 20, 4096, 0);
    let mut h = SlabByteAllocator::new();
    // SAFETY: the region outlives the heap.
    unsafe { h.init(region.ptr(), region.size()) }.unwrap();
    for (size, align, class) in
        [(1, 1, 64), (65, 8, 128), (3, 512, 512), (3000, 8, 4096), (5000, 1, 8192), (100, 16384, 16384)]
    {
        let l = Layout::from_size_align(size, align).unwrap();
        let p = h.alloc(l).unwrap();
        // SAFETY: live for `l`.
        let usable = unsafe { h.usable_size(p, l) };
        assert_eq!(usable, class);
        assert_eq!(h.used_bytes(), class);
        // SAFETY: live for `l`, `usable` bytes long; freed with a fitting size.
        unsafe {
            p.as_ptr().write_bytes(3, usable);
            h.dealloc(p, Layout::from_size_align(usable, align).unwrap());
        }
        assert_eq!(h.used_bytes(), 0);
    }
}
