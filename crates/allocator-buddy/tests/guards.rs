//! Every input that could upset buddy_system_allocator is stopped first.

use core::alloc::Layout;

use allocator_buddy::BuddyByteAllocator;
use allocator_core::{AllocError, BaseAllocator, ByteAllocator, Owns};
use allocator_testkit::TestRegion;

#[test]
fn a_region_at_address_zero_is_refused_without_looping() {
    let mut h = BuddyByteAllocator::<32>::new();
    // SAFETY: one word from address 0: nothing is left once address 0 is
    // skipped and the start aligned to a word, so nothing is touched
    // (buddy_system_allocator itself would loop forever on a block at 0).
    assert_eq!(unsafe { h.init(0, core::mem::size_of::<usize>()) }, Err(AllocError::InvalidParam));
    assert_eq!(h.total_bytes(), 0);
}

#[test]
fn regions_smaller_than_a_word_are_refused() {
    let region = TestRegion::new(64, 64, 0);
    let mut h = BuddyByteAllocator::<32>::new();
    let word = core::mem::size_of::<usize>();
    // SAFETY: inside a region we own; a word from an odd address holds no
    // whole aligned word, so it is refused before anything is written.
    assert_eq!(unsafe { h.init(region.start() + 1, word) }, Err(AllocError::InvalidParam));
    // SAFETY: as above; one aligned word is the smallest region.
    unsafe { h.init(region.start(), word) }.unwrap();
    assert_eq!(h.total_bytes(), word);
}

#[test]
fn requests_beyond_the_largest_block_are_no_memory() {
    let region = TestRegion::new(1 << 16, 4096, 0);
    let mut h = BuddyByteAllocator::<10>::new();
    // SAFETY: the region outlives the heap.
    unsafe { h.init(region.start(), region.size()) }.unwrap();
    assert_eq!(BuddyByteAllocator::<10>::MAX_BLOCK, 512);
    for (size, align) in
        [(513, 1), (1, 1024), (isize::MAX as usize - 4096, 1), (1, 1usize << (usize::BITS - 2))]
    {
        let l = Layout::from_size_align(size, align).unwrap();
        assert_eq!(h.alloc(l), Err(AllocError::NoMemory), "{size} / {align}");
    }
    let l = Layout::from_size_align(512, 512).unwrap();
    let p = h.alloc(l).unwrap();
    assert!(h.owns(p, l));
    // SAFETY: live for `l`.
    unsafe { h.dealloc(p, l) };
    assert_eq!(h.used_bytes(), 0);
}

#[test]
fn an_unaligned_region_loses_only_its_ragged_edges() {
    let region = TestRegion::new(1 << 16, 4096, 0);
    let mut h = BuddyByteAllocator::<32>::new();
    // SAFETY: the region outlives the heap.
    unsafe { h.init(region.start() + 3, region.size() - 3) }.unwrap();
    // The start moves up to the next word: one word is lost in all.
    assert_eq!(h.total_bytes(), region.size() - core::mem::size_of::<usize>());
}

#[test]
fn shrinking_within_a_block_stays_in_place() {
    let region = TestRegion::new(1 << 16, 4096, 0);
    let mut h = BuddyByteAllocator::<32>::new();
    // SAFETY: the region outlives the heap.
    unsafe { h.init(region.start(), region.size()) }.unwrap();
    let big = Layout::from_size_align(1000, 8).unwrap();
    let small = Layout::from_size_align(600, 8).unwrap();
    let tiny = Layout::from_size_align(100, 8).unwrap();
    let p = h.alloc(big).unwrap();
    // SAFETY: `p` is live for each layout in turn.
    unsafe {
        assert_eq!(h.shrink(p, big, small).unwrap(), p);
        assert_eq!(h.used_bytes(), 1024);
        let q = h.shrink(p, small, tiny).unwrap();
        assert_eq!(h.used_bytes(), 128);
        h.dealloc(q, tiny);
    }
    assert_eq!(h.used_bytes(), 0);
}
