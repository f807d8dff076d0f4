//! Every input that could upset buddy_system_allocator is stopped first,
//! with the error kind the workspace documents.

use core::alloc::Layout;

use allocator_buddy::{BuddyByteAllocator, MAX_REGIONS};
use allocator_core::{AllocError, BaseAllocator, ByteAllocator, Owns};
use allocator_testkit::TestRegion;

const WORD: usize = core::mem::size_of::<usize>();

#[test]
fn a_region_at_address_zero_is_refused_without_looping() {
    let mut h = BuddyByteAllocator::<32>::new();
    // SAFETY: one word from address 0: nothing is left once address 0 is
    // skipped and the start aligned to a word, so nothing is touched
    // (buddy_system_allocator itself would loop forever on a block at 0).
    assert_eq!(unsafe { h.init(core::ptr::null_mut(), WORD) }, Err(AllocError::InvalidParam));
    assert_eq!(h.total_bytes(), 0);
}

#[test]
fn regions_smaller_than_a_word_are_refused() {
    let region = TestRegion::new(64, 64, 0);
    let mut h = BuddyByteAllocator::<32>::new();
    // SAFETY: inside a region we own; a word from an odd address holds no
    // whole aligned word, so it is refused before anything is written.
    assert_eq!(unsafe { h.init(region.ptr().wrapping_add(1), WORD) }, Err(AllocError::InvalidParam));
    // SAFETY: as above; one aligned word is the smallest region.
    unsafe { h.init(region.ptr(), WORD) }.unwrap();
    assert_eq!(h.total_bytes(), WORD);
}

#[test]
fn a_second_init_is_already_initialized_and_a_full_table_table_full() {
    let regions: Vec<TestRegion> = (0..=MAX_REGIONS).map(|_| TestRegion::new(256, 64, 0)).collect();
    let mut h = BuddyByteAllocator::<32>::new();
    // SAFETY: each region outlives the heap.
    unsafe { h.init(regions[0].ptr(), 256) }.unwrap();
    // SAFETY: a correct heap refuses a second init untouched.
    assert_eq!(unsafe { h.init(regions[1].ptr(), 256) }, Err(AllocError::AlreadyInitialized));
    for r in &regions[1..MAX_REGIONS] {
        // SAFETY: each region outlives the heap.
        unsafe { h.add_memory(r.ptr(), r.size()) }.unwrap();
    }
    let total = h.total_bytes();
    // SAFETY: a correct heap refuses it untouched.
    let r = unsafe { h.add_memory(regions[MAX_REGIONS].ptr(), 256) };
    assert_eq!(r, Err(AllocError::TableFull));
    assert_eq!(h.total_bytes(), total);
}

/// Above the largest order the heap never serves a block: `Unsupported`;
/// within it, a block that does not fit now is `NoMemory`.
#[test]
fn requests_beyond_the_largest_block_are_unsupported() {
    let region = TestRegion::new(1 << 16, 4096, 0);
    let mut h = BuddyByteAllocator::<10>::new();
    // SAFETY: the region outlives the heap.
    unsafe { h.init(region.ptr(), region.size()) }.unwrap();
    assert_eq!(BuddyByteAllocator::<10>::MAX_BLOCK, 512);
    for (size, align) in
        [(513, 1), (1, 1024), (isize::MAX as usize - 4096, 1), (1, 1usize << (usize::BITS - 2))]
    {
        let l = Layout::from_size_align(size, align).unwrap();
        assert_eq!(h.alloc(l), Err(AllocError::Unsupported), "{size} / {align}");
    }
    let l = Layout::from_size_align(512, 512).unwrap();
    let blocks: Vec<_> = core::iter::from_fn(|| h.alloc(l).ok()).collect();
    assert_eq!(blocks.len(), (1 << 16) / 512);
    assert_eq!(h.alloc(l), Err(AllocError::NoMemory));
    for p in blocks {
        assert!(h.owns(p, l));
        // SAFETY: live for `l`.
        unsafe { h.dealloc(p, l) };
    }
    assert_eq!(h.used_bytes(), 0);
}

#[test]
fn an_unaligned_region_loses_only_its_ragged_edges() {
    let region = TestRegion::new(1 << 16, 4096, 0);
    let mut h = BuddyByteAllocator::<32>::new();
    // SAFETY: the region outlives the heap.
    unsafe { h.init(region.ptr().wrapping_add(3), region.size() - 3) }.unwrap();
    // The start moves up to the next word: one word is lost in all.
    assert_eq!(h.total_bytes(), region.size() - WORD);
}

#[test]
fn shrinking_stays_in_place_and_gives_the_upper_halves_back() {
    let region = TestRegion::new(1 << 16, 4096, 0);
    let mut h = BuddyByteAllocator::<32>::new();
    // SAFETY: the region outlives the heap.
    unsafe { h.init(region.ptr(), region.size()) }.unwrap();
    let big = Layout::from_size_align(1000, 8).unwrap();
    let small = Layout::from_size_align(600, 8).unwrap();
    let tiny = Layout::from_size_align(100, 8).unwrap();
    let p = h.alloc(big).unwrap();
    // SAFETY: `p` is live for each layout in turn.
    unsafe {
        p.as_ptr().write_bytes(5, 600);
        assert_eq!(h.shrink(p, big, small).unwrap(), p);
        assert_eq!(h.used_bytes(), 1024);
        assert_eq!(h.shrink(p, small, tiny).unwrap(), p);
        assert_eq!(h.used_bytes(), 128);
        assert!(core::slice::from_raw_parts(p.as_ptr(), 100).iter().all(|&b| b == 5));
        // The halves given back are whole blocks again.
        let q = h.alloc(Layout::from_size_align(512, 512).unwrap()).unwrap();
        assert_eq!(q.addr().get(), p.addr().get() + 512);
        h.dealloc(q, Layout::from_size_align(512, 512).unwrap());
        // Growing past the block is never in place.
        assert_eq!(h.resize_in_place(p, tiny, 129), Err(AllocError::Unsupported));
        h.resize_in_place(p, tiny, 128).unwrap();
        h.dealloc(p, Layout::from_size_align(128, 8).unwrap());
    }
    assert_eq!(h.used_bytes(), 0);
}
