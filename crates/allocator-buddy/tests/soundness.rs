//! Regression tests for the holes the v2 port closed, one per hole.

use core::alloc::Layout;

use allocator_buddy::BuddyByteAllocator;
use allocator_core::{BaseAllocator, ByteAllocator};
use allocator_testkit::TestRegion;

/// Hole: buddy_system_allocator merges free buddies across the seam of two
/// adjacent regions, so a block may span both; `owns` looked the block up
/// in one region at a time and answered false, and a `Fallback` freed it
/// into its other part. Here the only 64 KiB block spans the two 32 KiB
/// regions; it must be owned and free cleanly.
#[test]
fn a_block_merged_across_two_adjacent_regions_is_owned_and_freed() {
    allocator_testkit::expect(allocator_testkit::byte::owns_a_block_merged_across_the_seam(
        BuddyByteAllocator::<32>::new(),
        32 * 1024,
    ));
}

/// Hole: buddy_system_allocator subtracts the size it is freed with from
/// the size it was allocated with, so freeing a block with its usable size
/// (allowed: "memory fitting") underflowed its counter (a panic in debug
/// builds, corrupt figures in release). The heap is now given the same
/// layout for the block both ways (size 0, aligned to the block).
#[test]
fn blocks_free_with_any_size_up_to_usable_size() {
    let region = TestRegion::new(1 << 16, 4096, 0);
    let mut h = BuddyByteAllocator::<32>::new();
    // SAFETY: the region outlives the heap.
    unsafe { h.init(region.ptr(), region.size()) }.unwrap();
    // The smallest block is a word: 8 bytes on 64-bit targets, 4 on 32-bit.
    let word = core::mem::size_of::<usize>();
    for (size, align, class) in
        [(1, 1, word), (100, 8, 128), (3, 64, 64), (3000, 4096, 4096), (5000, 1, 8192)]
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
